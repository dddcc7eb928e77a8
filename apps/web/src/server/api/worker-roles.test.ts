import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { rolePresenceKeys } from '@coffer/contracts';
import { formatPortRange, testPorts } from '@coffer/testing/ports';
import { waitFor } from '@coffer/testing/wait';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { codeOf } from '~/test/callers';
import { createHarness, type Harness } from '~/test/harness';

/**
 * Operators see each worker role up, or down since when (Admin): a real taskmanager process
 * (apps/worker's own entry point) on this file's queue; killed -9, it shows down since its last
 * beat within the heartbeat expiry; its replacement up again; stopped, down since its stop.
 */

const suffix = randomUUID().slice(0, 8);
const queuePrefix = `test-roles-${suffix}`;
const dataDir = join(
  process.env.COFFER_TEST_DATA_DIR ?? join(tmpdir(), 'coffer-test-instances'),
  `web-roles-${suffix}`,
);
const TASKMANAGER = fileURLToPath(
  new URL('../../../../worker/src/taskmanager/main.ts', import.meta.url),
);
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const EXPIRY_SECONDS = 3;

let h: Harness;
let redis: Redis;
const children: ChildProcess[] = [];

beforeAll(async () => {
  process.env.COFFER_QUEUE_PREFIX = queuePrefix;
  h = await createHarness();
  redis = new Redis(process.env.REDIS_URL!);
});

afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

afterAll(async () => {
  const keys = rolePresenceKeys(queuePrefix);
  await redis?.del(keys.registry, ...(await redis.keys(`${keys.registry}:*`)));
  redis?.disconnect();
  await h?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The taskmanager as its own process, as `npm start` runs it (the supervisor's restart count given). */
function spawnTaskmanager(restarts: number): ChildProcess & { exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', TSX, TASKMANAGER], {
    env: {
      ...process.env,
      COFFER_DATA_DIR: dataDir,
      COFFER_INSTANCE_PORT_RANGE: formatPortRange(testPorts().instances),
      COFFER_QUEUE_PREFIX: queuePrefix,
      COFFER_HEARTBEAT_INTERVAL_SECONDS: '1',
      COFFER_HEARTBEAT_EXPIRY_SECONDS: String(EXPIRY_SECONDS),
      COFFER_ROLE_RESTARTS: String(restarts),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return Object.assign(child, { exited });
}

async function operatorCaller() {
  const operator = await h.createUser('operator');
  await h.makeOperator(operator.id);
  return h.callerFor(operator);
}

describe('admin.workerRoles', () => {
  it('is for operators only', async () => {
    const { owner } = await h.createProjectWithOwner('Not operators');
    expect(await codeOf(h.callerFor(owner).admin.workerRoles())).toBe('FORBIDDEN');
  });

  it('shows each role up with its process, down since its last beat once killed -9, and down since its stop', async () => {
    const admin = await operatorCaller();
    expect(await admin.admin.workerRoles()).toEqual([
      { role: 'taskmanager', state: 'unknown', since: null, processes: [] },
      { role: 'conductor', state: 'unknown', since: null, processes: [] },
      { role: 'watchdog', state: 'unknown', since: null, processes: [] },
    ]);

    const first = spawnTaskmanager(1);
    const taskmanager = () => admin.admin.workerRoles().then((roles) => roles[0]!);
    const up = await waitFor(taskmanager, {
      until: (role) => role.state === 'up',
      what: 'the taskmanager to be up',
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    expect(up.processes).toEqual([
      expect.objectContaining({
        host: hostname(),
        pid: first.pid,
        isLive: true,
        restarts: 1,
        stoppedAt: null,
      }),
    ]);
    expect(up.since).toEqual(up.processes[0]!.startedAt);
    expect((await admin.admin.workerRoles()).slice(1).map((role) => role.state)).toEqual([
      'unknown',
      'unknown',
    ]);

    first.kill('SIGKILL');
    await first.exited;
    const killedAt = Date.now();
    const down = await waitFor(taskmanager, {
      until: (role) => role.state === 'down',
      what: 'the taskmanager to be down',
      timeoutMs: (EXPIRY_SECONDS + 3) * 1000,
      intervalMs: 100,
    });
    expect(Date.now() - killedAt).toBeLessThanOrEqual((EXPIRY_SECONDS + 2) * 1000);
    expect(down.processes).toEqual([
      expect.objectContaining({ pid: first.pid, isLive: false, stoppedAt: null }),
    ]);
    expect(down.since).toEqual(down.processes[0]!.lastBeatAt);
    expect(down.since!.getTime()).toBeLessThanOrEqual(killedAt);

    // Its replacement: up again, the dead one's record gone; stopped cleanly: down since then.
    const second = spawnTaskmanager(2);
    const again = await waitFor(taskmanager, {
      until: (role) => role.state === 'up',
      what: 'the taskmanager to be up again',
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    expect(again.processes).toEqual([
      expect.objectContaining({ pid: second.pid, isLive: true, restarts: 2 }),
    ]);
    const stoppingAt = Date.now();
    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const stopped = await taskmanager();
    expect(stopped).toMatchObject({
      state: 'down',
      processes: [{ pid: second.pid, isLive: false }],
    });
    expect(stopped.since).toEqual(stopped.processes[0]!.stoppedAt);
    expect(stopped.since!.getTime()).toBeGreaterThanOrEqual(stoppingAt - 1);
  });
});
