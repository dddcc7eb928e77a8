import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { guestQueueName } from '@coffer/contracts';
import { generateGuestSecret } from '@coffer/contracts/crypto';
import { isGuest, processesMentioning } from '@coffer/testing/processes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MASTER_KEY, REDIS_URL, TEST_HEARTBEAT, WorkerTestContext } from '../test/harness';
import { sealGuestSecret } from './guest-secret';

/**
 * A worker killed between spawning a guest and writing its pid file leaves a guest whose pid
 * is not recorded. The create that resumes must end with exactly one guest for the instance,
 * not two (the local provider adopts such a guest by its command line).
 */

const ctx = new WorkerTestContext({ name: 'stray-guest' });

beforeAll(async () => {
  await ctx.setUp();
});

afterAll(() => ctx.closeLeavingNothing());

describe('a create resumed after a crash between spawning the guest and recording its pid', () => {
  it('ends with one guest', async () => {
    const secret = generateGuestSecret();
    const port = ctx.portRange.max;
    const row = await ctx.prisma.instance.create({
      data: {
        projectId: ctx.projectId,
        name: 'stray',
        flavorId: ctx.flavorId,
        datastoreVersionId: ctx.versionId,
        volumeSizeGb: 1,
        host: '127.0.0.1',
        port,
      },
    });
    await ctx.prisma.instance.update({
      where: { id: row.id },
      data: { guestSecretEnc: sealGuestSecret(MASTER_KEY, row.id, secret) },
    });
    // What the crashed worker had done: the server with its injected files, and a guest whose pid file was never written.
    await ctx.provider.createServer({
      instanceId: row.id,
      projectId: ctx.projectId,
      flavor: { vcpus: 1, ramMb: 512 },
      volumeGb: 1,
      port,
      guestInfo: {
        instanceId: row.id,
        projectId: ctx.projectId,
        datastoreManager: 'mariadb',
        datastoreVersion: '10.11',
      },
      agentConfig: {
        redisUrl: REDIS_URL,
        rpcQueue: guestQueueName(row.id),
        conductorStream: ctx.names.conductorStream,
        guestSecret: secret,
        heartbeatIntervalSeconds: TEST_HEARTBEAT.intervalSeconds,
      },
    });
    const [stray] = processesMentioning(ctx.instanceDir(row.id)).filter(isGuest);
    expect(stray).toBeDefined();
    rmSync(join(ctx.instanceDir(row.id), 'run', 'guest.pid'));

    await ctx.enqueue('instance.create', row.id, {
      instanceId: row.id,
      databases: [{ name: 'app' }],
      users: [],
    });
    await ctx.startWorker();
    await ctx.waitForActive(row.id, {
      timeoutMs: 90_000,
      what: 'ACTIVE',
    });

    const guests = processesMentioning(ctx.instanceDir(row.id)).filter(isGuest);
    expect(guests).toHaveLength(1);
    expect(ctx.provider.guestPid(row.id)).toBe(guests[0]!.pid);
  });
});
