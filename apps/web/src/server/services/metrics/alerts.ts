import 'server-only';

import { AppError } from '@coffer/contracts';
import { z } from 'zod';

import { env } from '~/env';
import { type ProjectScopedDb } from '~/server/tenancy';

import { latestSamples } from './project-metrics';

/**
 * Alerts, minimal (issue 16, part 5): the one rule for when an instance needs attention.
 * - volume: more than 90 % of it used (the row's volume, as heartbeats report it);
 * - connections: more than 90 % of max_connections in use (the newest metrics sample, if no
 *   older than {@link SAMPLE_FRESH_MS});
 * - replicationLag: a replica behind its source by more than COFFER_ALERT_REPLICATION_LAG_SECONDS
 *   (default 30 s).
 * Exactly at a threshold is not past it.
 */

export const VOLUME_ALERT_FRACTION = 0.9;
export const CONNECTIONS_ALERT_FRACTION = 0.9;
/** A sample older than this says nothing of now. */
export const SAMPLE_FRESH_MS = 5 * 60_000;

export const alertSchema = z.object({
  kind: z.enum(['volume', 'connections', 'replicationLag']),
  message: z.string(),
  value: z.number(),
  threshold: z.number(),
});
export type Alert = z.infer<typeof alertSchema>;

export interface AlertInputs {
  volumeUsedBytes: number | null;
  volumeTotalBytes: number | null;
  connections: number | null;
  maxConnections: number | null;
  /** Null unless the instance is a replica that reports its lag. */
  replicationLagSeconds: number | null;
}

const percent = (fraction: number) => `${Math.round(fraction * 1000) / 10} %`;

/** The rule itself (pure). `value` and `threshold` are fractions for volume and connections, seconds for lag. */
export function evaluateAlerts(
  inputs: AlertInputs,
  lagThresholdSeconds: number = env.COFFER_ALERT_REPLICATION_LAG_SECONDS,
): Alert[] {
  const alerts: Alert[] = [];
  const { volumeUsedBytes, volumeTotalBytes, connections, maxConnections, replicationLagSeconds } =
    inputs;
  if (volumeUsedBytes !== null && volumeTotalBytes !== null && volumeTotalBytes > 0) {
    const used = volumeUsedBytes / volumeTotalBytes;
    if (used > VOLUME_ALERT_FRACTION)
      alerts.push({
        kind: 'volume',
        message: `The volume is ${percent(used)} full (above ${percent(VOLUME_ALERT_FRACTION)}): grow it or delete data.`,
        value: used,
        threshold: VOLUME_ALERT_FRACTION,
      });
  }
  if (connections !== null && maxConnections !== null && maxConnections > 0) {
    const used = connections / maxConnections;
    if (used > CONNECTIONS_ALERT_FRACTION)
      alerts.push({
        kind: 'connections',
        message: `${connections} of ${maxConnections} connections in use (above ${percent(CONNECTIONS_ALERT_FRACTION)} of max_connections).`,
        value: used,
        threshold: CONNECTIONS_ALERT_FRACTION,
      });
  }
  if (replicationLagSeconds !== null && replicationLagSeconds > lagThresholdSeconds)
    alerts.push({
      kind: 'replicationLag',
      message: `The replica is ${replicationLagSeconds} s behind its source (more than ${lagThresholdSeconds} s).`,
      value: replicationLagSeconds,
      threshold: lagThresholdSeconds,
    });
  return alerts;
}

const alertInstanceSelect = {
  id: true,
  name: true,
  volumeUsedBytes: true,
  volumeTotalBytes: true,
  replicaOfId: true,
  replicationLagSeconds: true,
} as const;

async function alertsOf(
  db: ProjectScopedDb,
  instances: {
    id: string;
    volumeUsedBytes: bigint | null;
    volumeTotalBytes: bigint | null;
    replicaOfId: string | null;
    replicationLagSeconds: number | null;
  }[],
  now: Date,
): Promise<Map<string, Alert[]>> {
  const samples = await latestSamples(
    db,
    instances.map((instance) => instance.id),
    new Date(now.getTime() - SAMPLE_FRESH_MS),
  );
  const num = (value: bigint | null) => (value === null ? null : Number(value));
  return new Map(
    instances.map((instance) => {
      const sample = samples.get(instance.id);
      return [
        instance.id,
        evaluateAlerts({
          volumeUsedBytes: num(instance.volumeUsedBytes),
          volumeTotalBytes: num(instance.volumeTotalBytes),
          connections: sample?.point.connections ?? null,
          maxConnections: sample?.maxConnections ?? null,
          replicationLagSeconds: instance.replicaOfId ? instance.replicationLagSeconds : null,
        }),
      ];
    }),
  );
}

export async function instanceAlerts(
  db: ProjectScopedDb,
  instanceId: string,
  now = new Date(),
): Promise<Alert[]> {
  const instance = await db.instance.findFirst({
    where: { id: instanceId, deletedAt: null },
    select: alertInstanceSelect,
  });
  if (!instance) throw new AppError('NOT_FOUND', 'Instance not found');
  return (await alertsOf(db, [instance], now)).get(instance.id) ?? [];
}

export const projectAlertsSchema = z.array(
  z.object({ instanceId: z.string(), instanceName: z.string(), alerts: z.array(alertSchema) }),
);

/** The project's instances that need attention, with their alerts. */
export async function projectAlerts(
  db: ProjectScopedDb,
  now = new Date(),
): Promise<z.infer<typeof projectAlertsSchema>> {
  const instances = await db.instance.findMany({
    where: { deletedAt: null },
    select: alertInstanceSelect,
    orderBy: { name: 'asc' },
  });
  const alerts = await alertsOf(db, instances, now);
  return instances.flatMap((instance) => {
    const found = alerts.get(instance.id) ?? [];
    return found.length > 0
      ? [{ instanceId: instance.id, instanceName: instance.name, alerts: found }]
      : [];
  });
}
