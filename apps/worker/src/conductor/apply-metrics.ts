import { METRIC_FIELDS, type ConductorMessage, type MetricsSample } from '@coffer/contracts';
import { Prisma, type PrismaClient } from '@coffer/db';

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

export type MetricsMessage = Extract<ConductorMessage, { kind: 'metrics' }>;

/** The SQL type of each figure's column (`instance_metrics`). */
const COLUMN_TYPES = {
  cpuPercent: 'real',
  memoryBytes: 'bigint',
  guestCpuPercent: 'real',
  guestMemoryBytes: 'bigint',
  connections: 'int',
  maxUsedConnections: 'int',
  abortedConnectsPerSec: 'real',
  queriesPerSec: 'real',
  slowQueriesPerSec: 'real',
  bufferPoolHitRatio: 'real',
  dirtyPages: 'int',
  rowsReadPerSec: 'real',
  rowsWrittenPerSec: 'real',
  replicationLagSeconds: 'int',
  volumeUsedBytes: 'bigint',
  volumeTotalBytes: 'bigint',
  binlogBytes: 'bigint',
  maxConnections: 'int',
} as const satisfies Record<keyof MetricsSample, 'real' | 'int' | 'bigint'>;

/**
 * Stores the samples of a batch of messages in ONE statement (a multi-row INSERT … ON CONFLICT
 * DO NOTHING), with the rules of {@link storeMetricsSample}: once per (instance, send time),
 * whatever the order, never for a deleted instance (checked here in the same statement).
 * Returns, in the order of `messages`, the instance's project for each sample stored, and null
 * for each one not stored (a duplicate, here or already in the table, or a deleted instance).
 */
export async function storeMetricsSamples(
  prisma: Pick<PrismaClient, '$queryRaw'>,
  messages: readonly MetricsMessage[],
): Promise<(string | null)[]> {
  const keyOf = (instanceId: string, at: number) => `${instanceId.toLowerCase()} ${at}`;
  const indexOf = new Map<string, number>();
  const rows: Prisma.Sql[] = [];
  messages.forEach((message, index) => {
    const key = keyOf(message.instanceId, message.sentAt);
    if (indexOf.has(key)) return;
    indexOf.set(key, index);
    const figures = METRIC_FIELDS.map((field) => {
      const value = message.payload[field];
      const type = COLUMN_TYPES[field];
      // Integers of any size travel as text (a bigint column takes more than a JS number's int4).
      const param = value === null || type === 'real' ? value : String(value);
      return Prisma.sql`${param}::${Prisma.raw(type)}`;
    });
    rows.push(
      Prisma.sql`(${message.instanceId}::uuid, ${new Date(message.sentAt).toISOString()}::timestamptz, ${Prisma.join(figures)})`,
    );
  });
  const projects: (string | null)[] = messages.map(() => null);
  if (rows.length === 0) return projects;

  const columns = Prisma.raw(METRIC_FIELDS.map((field) => `"${field}"`).join(', '));
  const stored = await prisma.$queryRaw<{ instanceId: string; atMs: number; projectId: string }[]>(
    Prisma.sql`
    WITH inserted AS (
      INSERT INTO instance_metrics ("instanceId", "at", ${columns})
      SELECT * FROM (VALUES ${Prisma.join(rows)}) AS v("instanceId", "at", ${columns})
      WHERE EXISTS (SELECT 1 FROM instances i WHERE i.id = v."instanceId" AND i."deletedAt" IS NULL)
      ON CONFLICT DO NOTHING
      RETURNING "instanceId", "at"
    )
    SELECT inserted."instanceId"::text AS "instanceId",
      (extract(epoch FROM inserted."at") * 1000)::float8 AS "atMs",
      i."projectId"::text AS "projectId"
    FROM inserted JOIN instances i ON i.id = inserted."instanceId"`,
  );
  for (const row of stored) {
    const index = indexOf.get(keyOf(row.instanceId, row.atMs));
    if (index !== undefined) projects[index] = row.projectId;
  }
  return projects;
}
