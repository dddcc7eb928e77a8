import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { WorkerTestContext } from '../../test/harness';

/**
 * The port is the compute provider's to pick: a create whose row records a port that another
 * server already holds (the provider answers PORT_TAKEN) lets the provider pick another, and
 * the row records that one.
 */

const ctx = new WorkerTestContext({ name: 'create-port', portRange: { min: 29960, max: 29969 } });

beforeAll(async () => {
  await ctx.setUp();
});

afterAll(() => ctx.closeLeavingNothing());

describe('a create whose recorded port another server holds', () => {
  it('ends ACTIVE on the port the provider picked instead', async () => {
    await ctx.startWorker();
    // Another server's claim, as the local provider writes it.
    mkdirSync(join(ctx.dataDir, 'ports'), { recursive: true });
    writeFileSync(join(ctx.dataDir, 'ports', '29960'), randomUUID());

    const { instanceId } = await ctx.createInstance({ port: 29960 });
    await ctx.waitForActive(instanceId, {
      timeoutMs: 90_000,
      what: 'ACTIVE',
    });
    const row = (await ctx.row(instanceId))!;
    expect(row.port).not.toBe(29960);
    expect(row.port).toBeGreaterThanOrEqual(29961);
    expect(row.port).toBeLessThanOrEqual(29969);
    expect((await ctx.provider.getServer(instanceId))!.port).toBe(row.port);
  });
});
