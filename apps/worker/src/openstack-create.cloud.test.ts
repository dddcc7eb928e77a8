import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { guestQueueName } from '@coffer/contracts';
import {
  cloudPartsOf,
  guestsGroupIds,
  loopbackProviderEnv,
  loopbackSession,
  requireLoopbackCloud,
} from '@coffer/compute-openstack/test/cloud';
import { playGuestOf, type PlayedGuest } from '@coffer/compute-openstack/test/guest-player';
import { waitFor } from '@coffer/testing/wait';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { WorkerTestContext } from '../test/harness';
import { guestRedisUserName } from './guest-redis-access';
import { type RunningWorker } from './worker';

/**
 * The whole worker path on OpenStack (issue 14): an instance created as the web app creates it
 * (the row in BUILDING, then `instance.create` on the taskmanager queue), built by the real
 * worker with COFFER_COMPUTE_PROVIDER=openstack (the provider made by the worker's registry
 * from its COFFER_OPENSTACK_* settings) in the loopback OpenStack: a Nova server, a Cinder
 * volume, a port in SecGroup-<id>. The fake virt driver boots nothing, so once Nova says
 * ACTIVE the test plays the VM: it starts the real guest from the files Nova holds
 * (@coffer/compute-openstack/test/guest-player). The worker casts `prepare`, its conductor
 * applies the guest's RUNNING, the row is ACTIVE in PostgreSQL and the user answers SQL; the
 * delete leaves nothing in Nova, Cinder, Neutron or Redis.
 *
 * Only this file's instance is touched in the shared cloud: the watchdog's reconciliation would
 * see other tests' servers as orphans, but deletes none within its grace (10 minutes).
 */

const ctx = new WorkerTestContext();
const session = loopbackSession();
let worker: RunningWorker;
const made: string[] = [];

beforeAll(async () => {
  await requireLoopbackCloud();
  await ctx.setUp();
  // The provider's settings are read from the environment, as in a deployment.
  Object.assign(process.env, loopbackProviderEnv(), { COFFER_OPENSTACK_TIMEOUT_SECONDS: '300' });
  worker = await ctx.startWorker({
    provider: undefined,
    env: { COFFER_COMPUTE_PROVIDER: 'openstack', COFFER_CREATE_TIMEOUT_SECONDS: 300 },
  });
  expect(worker.provider?.name).toBe('openstack');
});

afterAll(async () => {
  // A failed test's instance goes from the cloud too (only this file's: the cloud is shared).
  for (const id of made) await worker?.provider?.deleteServer(id).catch(() => undefined);
  await ctx.close();
});

describe('an instance on OpenStack through the worker', () => {
  // A failed run prints the played guest's log.
  it(
    'is built by the taskmanager in Nova, Cinder and Neutron, ACTIVE with the played guest, answers SQL; delete leaves nothing',
    { timeout: 600_000 },
    async () => {
      const timings: Record<string, number> = {};
      const t0 = Date.now();
      const created = await ctx.createInstance();
      const { instanceId } = created;
      made.push(instanceId);
      let guest: PlayedGuest | undefined;
      try {
        // The VM "boots" once Nova says ACTIVE: the guest starts from the files Nova holds.
        await waitFor(
          async () => (await cloudPartsOf(session, instanceId)).servers[0]?.status === 'ACTIVE',
          { timeoutMs: 240_000, intervalMs: 250, what: `Nova's server for ${instanceId} ACTIVE` },
        );
        timings.serverActive = Date.now() - t0;
        guest = await playGuestOf(
          session,
          instanceId,
          // A short directory of its own, as a VM's own disk: under a fresh clone's deep test
          // directory MariaDB's socket path would pass the 107 bytes a unix socket may have
          // (the guest refuses to start then, as a failed rehearsal's guest log showed).
          mkdtempSync(join(tmpdir(), 'cg-')),
        );
        // What the worker put in the server's files: this instance's queue, its shard of the
        // worker's stream.
        expect(guest.agent).toMatchObject({
          rpcQueue: guestQueueName(instanceId),
          conductorStream: ctx.guestStream(instanceId),
          datastore: { port: 3306, volumeDir: '/var/lib/coffer/data' },
        });

        await ctx.waitForActive(instanceId, { timeoutMs: 240_000 });
        timings.active = Date.now() - t0;

        // PostgreSQL: built, running, the server and its address as OpenStack has them.
        const parts = await cloudPartsOf(session, instanceId);
        const [server] = parts.servers;
        const fixedIp = parts.ports[0]?.fixedIps[0]?.ipAddress;
        expect(await ctx.row(instanceId)).toMatchObject({
          taskStatus: 'NONE',
          serviceStatus: 'RUNNING',
          computeServerId: instanceId,
          host: fixedIp,
          port: 3306,
        });
        // OpenStack: one server, its volume attached, its port in SecGroup-<id> and in the
        // guests group (the default stream port: replicas' direct streams).
        expect(parts.servers).toHaveLength(1);
        expect(parts.volumes).toHaveLength(1);
        expect(parts.volumes[0]).toMatchObject({ status: 'in-use', size: 1 });
        expect(parts.volumes[0]!.attachments.map((a) => a.serverId)).toEqual([server!.id]);
        expect(parts.groups.map((g) => g.name)).toEqual([`SecGroup-${instanceId}`]);
        expect(parts.ports).toHaveLength(1);
        const guests = await guestsGroupIds(session);
        expect(guests).toHaveLength(1);
        expect([...parts.ports[0]!.securityGroupIds].sort()).toEqual(
          [parts.groups[0]!.id, guests[0]!].sort(),
        );

        // The first user, as the create asked for it, answers on the played guest's server.
        const connection = await mysql.createConnection({
          host: '127.0.0.1',
          port: guest.port,
          user: created.userName,
          password: created.password,
          database: created.databaseName,
        });
        try {
          const [rows] = await connection.query('SELECT 41 + 1 AS answer');
          expect(rows).toEqual([{ answer: 42 }]);
        } finally {
          await connection.end();
        }

        // Nova powers the VM off as its delete begins: the played guest stops beside the delete.
        const deleting = Date.now();
        await ctx.deleteInstance(instanceId);
        await Promise.all([
          guest.stop().then(() => (timings.guestStopped = Date.now() - deleting)),
          waitFor(async () => (await ctx.row(instanceId)) === null, {
            timeoutMs: 240_000,
            intervalMs: 250,
            what: 'the row to be deleted',
          }),
        ]);
        timings.delete = Date.now() - deleting;
      } catch (error) {
        // What the played guest said: the VM's console, as it were (its directory goes below).
        if (guest) {
          const log = readFileSync(join(guest.dir, 'log', 'guest.log'), 'utf8').split('\n');
          console.log(`the played guest's log (last 60 lines):\n${log.slice(-60).join('\n')}`);
        }
        throw error;
      } finally {
        await guest?.stop();
        if (guest) rmSync(guest.dir, { recursive: true, force: true });
        console.log(`worker on openstack timings (ms): ${JSON.stringify(timings)}`);
      }

      expect(await cloudPartsOf(session, instanceId)).toEqual({
        servers: [],
        volumes: [],
        groups: [],
        ports: [],
      });
      expect(await ctx.redis.keys(`bull:${guestQueueName(instanceId)}:*`)).toEqual([]);
      expect(await ctx.redis.call('ACL', 'GETUSER', guestRedisUserName(instanceId))).toBeNull();
    },
  );
});
