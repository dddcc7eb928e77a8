// The whole create path with the guest played by the test (issue 14's proof): the provider makes
// the instance in the loopback OpenStack; the fake virt driver boots nothing, so the test reads
// the guest's two files back from Nova's user data, as the guest image's boot unit would from
// the config drive, and starts the real bundled guest with them on this machine (the datastore
// paths and port moved to a directory of the test's own). The guest reaches Redis, installs and
// starts mariadbd, takes `prepare` from the control plane's queue, reports RUNNING on the
// conductor stream, and answers SQL; then the instance is deleted and nothing is left.
// Needs REDIS_URL (the test's own Redis, see the package README) and the built guest bundle.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conductorMessageSchema, guestQueueName, type ConductorMessage } from '@coffer/contracts';
import { generateGuestSecret, guestKeys, isValidSignature } from '@coffer/contracts/crypto';
import { GuestClient } from '@coffer/guest-client';
import { KeystoneAuth, OpenStackSession, listPorts } from '@coffer/openstack';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { playGuestOf, type PlayedGuest } from '../test/guest-player';
import { OpenStackComputeProvider, instanceTag } from './openstack-provider';

const authUrl = process.env.OS_AUTH_URL ?? 'http://127.0.0.1:5000/v3';
const redisUrl = process.env.REDIS_URL;
const session = new OpenStackSession({
  auth: new KeystoneAuth({
    authUrl,
    credentials: {
      type: 'password',
      username: process.env.OS_USERNAME ?? 'admin',
      password: process.env.OS_PASSWORD ?? 'admin',
      projectName: process.env.OS_PROJECT_NAME ?? 'admin',
    },
  }),
});
const provider = new OpenStackComputeProvider({
  session,
  image: 'fake-image',
  network: 'private',
  timeoutMs: 180_000,
});
let redis: Redis;

beforeAll(() => {
  if (!redisUrl)
    throw new Error('REDIS_URL is not set: the guest needs a Redis (package README, Tests)');
  redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  await redis?.quit();
});

/** Reads the conductor stream as the conductor does: every entry's signature checked. */
async function waitForMessage(
  reader: Redis,
  stream: string,
  signing: Buffer,
  predicate: (message: ConductorMessage) => boolean,
  timeoutMs: number,
  state: { lastId: string; seen: string[] },
): Promise<ConductorMessage> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const block = Math.max(1, Math.min(1000, deadline - Date.now()));
    const result = await reader.xread(
      'COUNT',
      100,
      'BLOCK',
      block,
      'STREAMS',
      stream,
      state.lastId,
    );
    for (const [, entries] of result ?? []) {
      for (const [id, fields] of entries) {
        state.lastId = id;
        const values = new Map<string, string>();
        for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i]!, fields[i + 1]!);
        const body = values.get('body') ?? '';
        expect(isValidSignature(signing, body, values.get('sig') ?? '')).toBe(true);
        const message = conductorMessageSchema.parse(JSON.parse(body));
        state.seen.push(
          message.kind === 'heartbeat' ? message.payload.serviceStatus : message.kind,
        );
        if (predicate(message)) return message;
      }
    }
  }
  throw new Error(
    `no such message within ${timeoutMs} ms; seen: ${state.seen.slice(-8).join(', ')}`,
  );
}

describe('a guest played by the test on an OpenStack server', () => {
  it('boots from the files Nova holds, reports RUNNING and answers SQL; delete leaves nothing', async () => {
    const instanceId = randomUUID();
    const guestSecret = generateGuestSecret();
    const stream = `conductor-test-${instanceId}`;
    // Short, under the system's tmp, as a VM's own disk: under a deep test data dir (a fresh
    // clone's) MariaDB's socket path would pass the 107 bytes a unix socket may have.
    const dir = mkdtempSync(join(tmpdir(), 'og-'));
    let guest: PlayedGuest | undefined;
    const client = new GuestClient({ connection: redis, instanceId, guestSecret });
    const reader = new Redis(redisUrl!, { maxRetriesPerRequest: null });
    const timings: Record<string, number> = {};
    const t0 = Date.now();
    try {
      const info = await provider.createServer({
        instanceId,
        projectId: randomUUID(),
        flavor: { vcpus: 1, ramMb: 512 },
        volumeGb: 1,
        guestInfo: {
          instanceId,
          projectId: randomUUID(),
          datastoreManager: 'mariadb',
          datastoreVersion: '10.11',
        },
        agentConfig: {
          redisUrl: redisUrl!,
          rpcQueue: guestQueueName(instanceId),
          conductorStream: stream,
          guestSecret,
          heartbeatIntervalSeconds: 0.5,
          preinstall: { memoryMb: 512, vcpus: 1 },
        },
      });
      expect(info.status).toBe('ACTIVE');
      timings.serverActive = Date.now() - t0;

      // the files as the server holds them, moved to this machine (test/guest-player.ts)
      guest = await playGuestOf(session, instanceId, dir);
      expect(guest.agent.datastore).toMatchObject({
        port: 3306,
        volumeDir: '/var/lib/coffer/data',
      });
      const { port } = guest;

      const state = { lastId: '0', seen: [] as string[] };
      const signing = guestKeys(guestSecret).signing;
      await waitForMessage(reader, stream, signing, (m) => m.kind === 'heartbeat', 120_000, state);
      timings.firstHeartbeat = Date.now() - t0;
      const password = `pw${randomBytes(12).toString('hex')}9`;
      await client.cast('prepare', {
        memoryMb: 512,
        vcpus: 1,
        databases: [{ name: 'app' }],
        users: [
          {
            name: 'app_user',
            host: '%',
            password: client.sealUserPassword('app_user', password),
            databases: ['app'],
          },
        ],
      });
      await waitForMessage(
        reader,
        stream,
        signing,
        (m) => m.kind === 'heartbeat' && m.payload.serviceStatus === 'RUNNING',
        180_000,
        state,
      );
      timings.running = Date.now() - t0;
      const connection = await mysql.createConnection({
        host: '127.0.0.1',
        port,
        user: 'app_user',
        password,
        database: 'app',
      });
      try {
        const [rows] = await connection.query('SELECT 41 + 1 AS answer');
        expect(rows).toEqual([{ answer: 42 }]);
      } finally {
        await connection.end();
      }
    } finally {
      await guest?.stop();
      await client.close().catch(() => undefined);
      reader.disconnect();
      const keys = await redis.keys(`bull:${guestQueueName(instanceId)}:*`);
      await redis.del(stream, ...keys);
      await provider.deleteServer(instanceId);
      rmSync(dir, { recursive: true, force: true });
      console.log(`guest on openstack timings (ms): ${JSON.stringify(timings)}`);
    }
    expect(await provider.getServer(instanceId)).toBeNull();
    expect(await listPorts(session, { tags: [instanceTag(instanceId)] })).toEqual([]);
  }, 600_000);
});
