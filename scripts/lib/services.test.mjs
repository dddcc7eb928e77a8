// What `npm test` does with the embedded services when it ends: it stops the PostgreSQL and
// Redis it started, and leaves those that were running before it. Real servers, under a data
// directory and on ports of this test's own (never the test profile's, which others use).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  ensurePostgres,
  ensureRedis,
  loadSecrets,
  stopPostgres,
  stopRedis,
  stopStartedServices,
} from './services.mjs';
import { isPortOpen } from './system.mjs';

/** A port nothing listens on now (the kernel's pick). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

let dataDir;
let pgPort;
let redisPort;
let secrets;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-services-test-'));
  // User postgres must reach the cluster inside it (when run as root).
  fs.chmodSync(dataDir, 0o755);
  pgPort = await freePort();
  redisPort = await freePort();
  secrets = loadSecrets(dataDir);
});

afterAll(async () => {
  if (!dataDir) return;
  await stopRedis({ port: redisPort, secrets });
  await stopPostgres({ dataDir });
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function ensureBoth() {
  const pg = await ensurePostgres({ dataDir, port: pgPort, database: 'coffer_test', secrets });
  const redis = await ensureRedis({ dataDir, port: redisPort, secrets });
  return { postgres: pg.started, redis: redis.started };
}

describe('the services a test run started', () => {
  it('are stopped at its end; those running before it are left running', async () => {
    // Nothing running yet: this "run" starts both.
    const firstRun = await ensureBoth();
    expect(firstRun).toEqual({ postgres: true, redis: true });

    // A second run finds them running: it started nothing, and stops nothing.
    const secondRun = await ensureBoth();
    expect(secondRun).toEqual({ postgres: false, redis: false });
    expect(await stopStartedServices({ dataDir, redisPort, secrets, started: secondRun })).toEqual({
      stopped: [],
      kept: ['Redis', 'PostgreSQL'],
    });
    expect(await isPortOpen(pgPort)).toBe(true);
    expect(await isPortOpen(redisPort)).toBe(true);

    // The first run ends: what it started is stopped.
    expect(await stopStartedServices({ dataDir, redisPort, secrets, started: firstRun })).toEqual({
      stopped: ['Redis', 'PostgreSQL'],
      kept: [],
    });
    expect(await isPortOpen(pgPort)).toBe(false);
    expect(await isPortOpen(redisPort)).toBe(false);
  });

  it('external services (DATABASE_URL, REDIS_URL) are never stopped', async () => {
    expect(await stopStartedServices({ dataDir, redisPort, secrets, started: {} })).toEqual({
      stopped: [],
      kept: [],
    });
  });
});
