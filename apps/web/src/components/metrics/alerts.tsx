import { TriangleAlert } from 'lucide-react';
import Link from 'next/link';

import { Badge } from '~/components/ui/badge';
import type { InstanceAlert } from './types';

/** A warning badge when an instance needs attention (its alerts' messages as the title); nothing otherwise. */
export function AlertBadge({ alerts }: { alerts: InstanceAlert[] | undefined }) {
  if (!alerts || alerts.length === 0) return null;
  const messages = alerts.map((alert) => alert.message).join('; ');
  return (
    <Badge
      tone="warning"
      role="status"
      title={messages}
      aria-label={`Needs attention: ${messages}`}
    >
      <TriangleAlert className="size-3.5" aria-hidden="true" />
      {alerts.length === 1 ? 'Warning' : `${alerts.length} warnings`}
    </Badge>
  );
}

/**
 * The project's instances that need attention (volume nearly full, connections near
 * max_connections, a replica lagging), each with its alerts' messages; nothing when none do.
 */
export function NeedsAttention({
  projectId,
  entries,
}: {
  projectId: string;
  entries: Array<{ instanceId: string; instanceName: string; alerts: InstanceAlert[] }>;
}) {
  const needing = entries.filter((entry) => entry.alerts.length > 0);
  if (needing.length === 0) return null;
  return (
    <section
      aria-labelledby="needs-attention-heading"
      className="mb-6 rounded-lg border border-amber-200 bg-amber-50 p-4"
    >
      <h2
        id="needs-attention-heading"
        className="flex items-center gap-2 text-sm font-semibold text-amber-900"
      >
        <TriangleAlert className="size-4" aria-hidden="true" />
        Needs attention
      </h2>
      <ul className="mt-2 space-y-2 text-sm text-amber-900">
        {needing.map((entry) => (
          <li key={entry.instanceId}>
            <Link
              href={`/p/${projectId}/instances/${entry.instanceId}`}
              className="font-medium underline-offset-2 hover:underline"
            >
              {entry.instanceName}
            </Link>
            <ul className="ml-4 list-disc">
              {entry.alerts.map((alert) => (
                <li key={alert.kind}>{alert.message}</li>
              ))}
            </ul>
          </li>
        ))}
      </ul>
    </section>
  );
}
