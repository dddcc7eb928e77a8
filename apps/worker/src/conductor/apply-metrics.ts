import { type ConductorMessage, type MetricsSample } from '@coffer/contracts';
import { type PrismaClient } from '@coffer/db';

import { type ChangePublisher } from '../events';

/**
 * Stores a guest's metrics sample (issue 16) as one row of `instance_metrics`, then tells the
 * console (`instance.metrics`, one per stored sample) so charts follow live. A sample is not a
 * status: it is stored whatever the order it arrives in, once per (instance, send time) (a
 * message delivered twice, or claimed again after a crash, inserts nothing the second time).
 * Samples of a deleted instance are dropped (when the conductor already knows the instance's
 * project from its key cache, the sample is stored without looking the row up again: at most
 * that cache's few minutes of samples of a just-deleted instance are kept, until retention
 * prunes them). Rollups and pruning are the watchdog's
 * (../metrics/rollup.ts), never done per sample.
 */
export async function storeMetricsSample(
  prisma: PrismaClient,
  instanceId: string,
  at: Date,
  sample: MetricsSample,
  knownProjectId?: string,
): Promise<{ isStored: true; projectId: string } | { isStored: false }> {
  const instance = knownProjectId
    ? { projectId: knownProjectId }
    : await prisma.instance.findFirst({
        where: { id: instanceId, deletedAt: null },
        select: { projectId: true },
      });
  if (!instance) return { isStored: false };
  const big = (value: number | null) => (value === null ? null : BigInt(value));
  const { count } = await prisma.instanceMetric.createMany({
    data: {
      instanceId,
      at,
      cpuPercent: sample.cpuPercent,
      memoryBytes: big(sample.memoryBytes),
      guestCpuPercent: sample.guestCpuPercent,
      guestMemoryBytes: big(sample.guestMemoryBytes),
      connections: sample.connections,
      maxUsedConnections: sample.maxUsedConnections,
      abortedConnectsPerSec: sample.abortedConnectsPerSec,
      queriesPerSec: sample.queriesPerSec,
      slowQueriesPerSec: sample.slowQueriesPerSec,
      bufferPoolHitRatio: sample.bufferPoolHitRatio,
      dirtyPages: sample.dirtyPages,
      rowsReadPerSec: sample.rowsReadPerSec,
      rowsWrittenPerSec: sample.rowsWrittenPerSec,
      replicationLagSeconds: sample.replicationLagSeconds,
      volumeUsedBytes: big(sample.volumeUsedBytes),
      volumeTotalBytes: big(sample.volumeTotalBytes),
      binlogBytes: big(sample.binlogBytes),
      maxConnections: sample.maxConnections,
    },
    skipDuplicates: true,
  });
  return count > 0 ? { isStored: true, projectId: instance.projectId } : { isStored: false };
}

/** The conductor's side: store the sample, then publish `instance.metrics`. */
export async function applyMetricsMessage(
  deps: { prisma: PrismaClient; publisher: ChangePublisher },
  message: Extract<ConductorMessage, { kind: 'metrics' }>,
  /** The instance's project, when the conductor's key cache has it. */
  knownProjectId?: string,
): Promise<'applied' | 'unchanged'> {
  const outcome = await storeMetricsSample(
    deps.prisma,
    message.instanceId,
    new Date(message.sentAt),
    message.payload,
    knownProjectId,
  );
  if (!outcome.isStored) return 'unchanged';
  await deps.publisher.publish({
    type: 'instance.metrics',
    projectId: outcome.projectId,
    instanceId: message.instanceId,
  });
  return 'applied';
}
