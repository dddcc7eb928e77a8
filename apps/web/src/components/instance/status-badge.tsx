import { type DisplayStatus } from '@coffer/contracts';

import { Badge } from '~/components/ui/badge';
import { Spinner } from '~/components/ui/button';

const TONES: Record<DisplayStatus, 'success' | 'progress' | 'warning' | 'danger' | 'neutral'> = {
  ACTIVE: 'success',
  BUILD: 'progress',
  REBOOT: 'progress',
  RESIZE: 'progress',
  BACKUP: 'progress',
  PROMOTE: 'progress',
  EJECT: 'progress',
  DETACH: 'progress',
  DELETING: 'progress',
  RESTART_REQUIRED: 'warning',
  BLOCKED: 'warning',
  SHUTDOWN: 'neutral',
  ERROR: 'danger',
};

export function StatusBadge({ status }: { status: DisplayStatus }) {
  const tone = TONES[status];
  return (
    <Badge tone={tone} data-status={status}>
      {tone === 'progress' ? (
        <Spinner className="size-3" />
      ) : (
        <span className="size-1.5 rounded-full bg-current" aria-hidden="true" />
      )}
      {status}
    </Badge>
  );
}
