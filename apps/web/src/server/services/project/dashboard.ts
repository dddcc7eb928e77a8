import 'server-only';

import { DISPLAY_STATUSES, displayStatusSchema, type DisplayStatus } from '@coffer/contracts';
import { z } from 'zod';

import {
  instanceSelect,
  toInstanceView,
  type InstanceView,
} from '~/server/services/instance/instance-view';
import { alertSchema, projectAlerts } from '~/server/services/metrics/alerts';
import { getProjectQuotas } from '~/server/services/quota/quota';
import { listTimeline } from '~/server/services/timeline/list-timeline';
import { type ProjectScopedDb } from '~/server/tenancy';

/**
 * A project's dashboard (issue 17), read in one call: its instances by status, the ones that
 * need attention, what it uses of its quotas and its latest events. Nothing here is a rule of
 * its own: the status is the instance view's (`deriveDisplayStatus`), the alerts are
 * `projectAlerts`, the usage is `getProjectQuotas` (the create form's), the events are the
 * timeline's first entries. The console re-reads it on every change event of the project.
 */

/** How many of the newest timeline entries the dashboard shows. */
export const RECENT_EVENT_COUNT = 8;

export const attentionEntrySchema = z.object({
  instanceId: z.string(),
  instanceName: z.string(),
  status: displayStatusSchema,
  /** What is wrong with it, as its page says it: an ERROR status, a fault, broken replication. */
  problems: z.array(z.string()),
  /** Its alerts (services/metrics/alerts.ts). */
  alerts: z.array(alertSchema),
});
export type AttentionEntry = z.infer<typeof attentionEntrySchema>;

export const dashboardInstancesSchema = z.object({
  total: z.number(),
  /** The statuses shown by at least one instance, in the order of DISPLAY_STATUSES. */
  byStatus: z.array(z.object({ status: displayStatusSchema, count: z.number() })),
});

/** What is wrong with an instance now, from its view (none for a healthy one). */
export function problemsOf(instance: InstanceView): string[] {
  const problems: string[] = [];
  if (instance.status === 'ERROR')
    problems.push(`In ERROR: ${instance.faultMessage ?? 'no fault was recorded.'}`);
  else if (instance.faultMessage) problems.push(instance.faultMessage);
  if (instance.replication.state === 'BROKEN')
    problems.push(
      `Replication is broken${instance.replication.error ? `: ${instance.replication.error}` : ''}`,
    );
  return problems;
}

function countByStatus(instances: InstanceView[]) {
  const counts = new Map<DisplayStatus, number>();
  for (const { status } of instances) counts.set(status, (counts.get(status) ?? 0) + 1);
  return DISPLAY_STATUSES.flatMap((status) => {
    const count = counts.get(status);
    return count ? [{ status, count }] : [];
  });
}

export async function readProjectDashboard(db: ProjectScopedDb, projectId: string) {
  const now = new Date();
  const [rows, alerts, quotas, timeline] = await Promise.all([
    db.instance.findMany({
      where: { deletedAt: null },
      select: instanceSelect,
      orderBy: { name: 'asc' },
    }),
    projectAlerts(db, now),
    getProjectQuotas(db, projectId),
    listTimeline(db, { limit: RECENT_EVENT_COUNT }),
  ]);
  const instances = rows.map((row) => toInstanceView(row, now));
  const alertsOf = new Map(alerts.map((entry) => [entry.instanceId, entry.alerts]));
  const attention: AttentionEntry[] = instances.flatMap((instance) => {
    const problems = problemsOf(instance);
    const found = alertsOf.get(instance.id) ?? [];
    return problems.length > 0 || found.length > 0
      ? [
          {
            instanceId: instance.id,
            instanceName: instance.name,
            status: instance.status,
            problems,
            alerts: found,
          },
        ]
      : [];
  });
  return {
    instances: { total: instances.length, byStatus: countByStatus(instances) },
    attention,
    quotas,
    recentEvents: timeline.entries,
  };
}
