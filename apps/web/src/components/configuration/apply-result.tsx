import { type ConfigurationApply, type DisplayStatus } from '@coffer/contracts';

import { Badge } from '~/components/ui/badge';

/**
 * What became of a group's values on one instance, from its guest's last report: still being
 * applied, refused (each parameter the server refused, and why), waiting for a restart (the
 * static values, while the instance is RESTART_REQUIRED), or applied.
 */
export function ApplyResult({
  lastApply,
  isApplyPending,
  status,
}: {
  lastApply: ConfigurationApply | null;
  isApplyPending: boolean;
  status: DisplayStatus | undefined;
}) {
  if (isApplyPending || !lastApply) return <Badge tone="progress">Applying…</Badge>;
  if (lastApply.failed.length > 0) {
    return (
      <span className="space-x-2">
        <Badge tone="danger">Refused</Badge>
        <span className="text-sm text-red-700">
          {lastApply.failed.map((failed) => `${failed.name} (${failed.reason})`).join('; ')}
        </span>
      </span>
    );
  }
  if (status === 'RESTART_REQUIRED' && lastApply.pendingRestart.length > 0) {
    return (
      <span className="space-x-2">
        <Badge tone="warning">Waiting for restart</Badge>
        <span className="text-sm text-zinc-700">{lastApply.pendingRestart.join(', ')}</span>
      </span>
    );
  }
  return <Badge tone="success">Applied</Badge>;
}
