import { randomUUID } from 'node:crypto';

import { taskmanagerJobId, type ResizeState } from '@coffer/contracts';
import { type Prisma } from '@coffer/db';
import { describe, expect, it } from 'vitest';

import { WorkerTestContext } from '../../test/harness';
import { useHandRunWatchdog } from '../../test/watchdog';

/**
 * The watchdog resumes resizes whose job died (settle-resizes.ts), by hand with a clock of
 * our choosing: once seen for the grace period without a live job, a volume resize is queued
 * forward, a flavor resize back; one without a readable record ends with a fault; one whose
 * job waits is left alone.
 */

const ctx = new WorkerTestContext({
  name: 'settle-resizes',
});
const GRACE_MS = 60_000;
const watchdog = useHandRunWatchdog(ctx, { orphanGraceMs: GRACE_MS });

async function resizingRow(state: ResizeState | { garbage: true }): Promise<string> {
  const row = await ctx.prisma.instance.create({
    data: {
      projectId: ctx.projectId,
      name: `rs-${randomUUID().slice(0, 8)}`,
      flavorId: ctx.flavorId,
      datastoreVersionId: ctx.versionId,
      volumeSizeGb: 2,
      taskStatus: 'RESIZING',
      serviceStatus: 'RUNNING',
      resizeState: state as Prisma.InputJsonValue,
    },
  });
  return row.id;
}

const flavor = (name: string, ramMb: number) => ({
  flavorId: randomUUID(),
  name,
  vcpus: 1,
  ramMb,
});

describe('interrupted resizes', () => {
  it('volume forward, flavor back, an unreadable record ended with a fault, a queued one left alone', async () => {
    const startedAt = new Date().toISOString();
    const volume = await resizingRow({ kind: 'volume', fromGb: 1, toGb: 2, startedAt });
    const flavorResize = await resizingRow({
      kind: 'flavor',
      from: flavor('m1.tiny', 512),
      to: flavor('m1.small', 1024),
      startedAt,
    });
    const unreadable = await resizingRow({ garbage: true });
    const queued = await resizingRow({ kind: 'volume', fromGb: 1, toGb: 2, startedAt });
    await ctx.enqueue('instance.resize', queued, { instanceId: queued });

    const now = Date.now();
    expect((await watchdog.reconcile(new Date(now))).settledResizes).toEqual([]);
    const settled = (await watchdog.reconcile(new Date(now + GRACE_MS))).settledResizes;
    expect(new Set(settled)).toEqual(new Set([volume, flavorResize, unreadable]));

    const jobOf = (id: string) => ctx.queue.getJob(taskmanagerJobId('instance.resize', id));
    expect((await jobOf(volume))?.data).toEqual({ instanceId: volume, direction: 'forward' });
    expect((await jobOf(flavorResize))?.data).toEqual({
      instanceId: flavorResize,
      direction: 'rollback',
    });
    expect(await jobOf(unreadable)).toBeUndefined();
    expect(await ctx.row(unreadable)).toMatchObject({
      taskStatus: 'NONE',
      resizeState: null,
      faultMessage: 'A resize was interrupted and could not be resumed; resize again if needed.',
    });
    expect((await jobOf(queued))?.data).toEqual({ instanceId: queued, direction: 'forward' });
    // The rows resumed stay RESIZING: their jobs end them.
    expect((await ctx.row(volume))?.taskStatus).toBe('RESIZING');
    expect((await ctx.row(flavorResize))?.taskStatus).toBe('RESIZING');
    // Their jobs are live now: a later pass leaves them alone.
    expect((await watchdog.reconcile(new Date(now + 3 * GRACE_MS))).settledResizes).toEqual([]);
  });
});
