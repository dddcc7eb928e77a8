import { type ReplicationState } from '@coffer/contracts';

import { Badge } from '~/components/ui/badge';

const LABELS: Record<ReplicationState, string> = {
  REPLICATING: 'Replicating',
  CONNECTING: 'Connecting',
  STOPPED: 'Stopped',
  BROKEN: 'Broken',
};

const TONES: Record<ReplicationState, 'success' | 'progress' | 'warning' | 'danger'> = {
  REPLICATING: 'success',
  CONNECTING: 'progress',
  STOPPED: 'warning',
  BROKEN: 'danger',
};

/** How far behind its source a replica is, in words ("in sync", "12 s behind"). */
export function formatLag(lagSeconds: number | null): string {
  if (lagSeconds === null) return 'lag unknown';
  if (lagSeconds === 0) return 'in sync';
  if (lagSeconds < 120) return `${lagSeconds} s behind`;
  if (lagSeconds < 7200) return `${Math.round(lagSeconds / 60)} min behind`;
  return `${Math.round(lagSeconds / 3600)} h behind`;
}

/** A replica's state as its heartbeats report it, with its lag while it replicates. */
export function ReplicationStateBadge({
  state,
  lagSeconds,
}: {
  state: ReplicationState | null;
  lagSeconds: number | null;
}) {
  if (!state) {
    return (
      <Badge tone="neutral" data-replication-state="UNKNOWN">
        Not reported yet
      </Badge>
    );
  }
  return (
    <Badge tone={TONES[state]} data-replication-state={state}>
      <span className="size-1.5 rounded-full bg-current" aria-hidden="true" />
      {LABELS[state]}
      {state === 'REPLICATING' ? (
        <span data-lag-seconds={lagSeconds ?? ''}>· {formatLag(lagSeconds)}</span>
      ) : null}
    </Badge>
  );
}
