import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { WorkerTestContext } from '../../test/harness';

/**
 * The port is the compute provider's to pick: a create whose row records a port that another
 * server already holds (the provider answers PORT_TAKEN) lets the provider pick another, and
 * the row records that one. And an address that another row still records, though that row's
 * server is gone (its files lost), is that row's stale record: the create takes the address.
 */

const ctx = new WorkerTestContext({ name: 'create-port' });

beforeAll(async () => {
  await ctx.setUp();
});

afterAll(() => ctx.closeLeavingNothing());

describe('a create whose recorded port another server holds', () => {
  it('ends ACTIVE on the port the provider picked instead', async () => {
    await ctx.startWorker();
    // Another server's claim, as the local provider writes it.
    mkdirSync(join(ctx.dataDir, 'ports'), { recursive: true });
    writeFileSync(join(ctx.dataDir, 'ports', String(ctx.portRange.min)), randomUUID());

    const { instanceId } = await ctx.createInstance({ port: ctx.portRange.min });
    await ctx.waitForActive(instanceId, {
      timeoutMs: 90_000,
      what: 'ACTIVE',
    });
    const row = (await ctx.row(instanceId))!;
    expect(row.port).not.toBe(ctx.portRange.min);
    expect(row.port).toBeGreaterThanOrEqual(ctx.portRange.min + 1);
    expect(row.port).toBeLessThanOrEqual(ctx.portRange.max);
    expect((await ctx.provider.getServer(instanceId))!.port).toBe(row.port);
  });

  it('takes the address a row without a server still records, and clears it there', async () => {
    // The port the provider picks next: the first of the range no server claims.
    const claimed = (await ctx.provider.listServers()).map((server) => server.port);
    const next = [1, 2, 3]
      .map((offset) => ctx.portRange.min + offset)
      .find((port) => !claimed.includes(port))!;
    // A row whose server is gone (a wiped data dir): it still records the address.
    const stale = await ctx.prisma.instance.create({
      data: {
        projectId: ctx.projectId,
        name: 'lost-server',
        flavorId: ctx.flavorId,
        datastoreVersionId: ctx.versionId,
        volumeSizeGb: 1,
        taskStatus: 'BUILDING_ERROR',
        serviceStatus: 'SHUTDOWN',
        host: '127.0.0.1',
        port: next,
        computeServerId: randomUUID(),
      },
    });

    const { instanceId } = await ctx.createInstance();
    await ctx.waitForActive(instanceId, { timeoutMs: 90_000, what: 'ACTIVE' });
    expect((await ctx.row(instanceId))!.port).toBe(next);
    const after = (await ctx.row(stale.id))!;
    expect([after.host, after.port]).toEqual([null, null]);
  });
});
