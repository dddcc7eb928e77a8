import { type BackupStatus } from '@coffer/contracts';

import { Badge } from '~/components/ui/badge';
import { Spinner } from '~/components/ui/button';

const TONES: Record<BackupStatus, 'success' | 'progress' | 'danger' | 'neutral'> = {
  NEW: 'progress',
  BUILDING: 'progress',
  COMPLETED: 'success',
  FAILED: 'danger',
  DELETING: 'progress',
};

/** A backup's status, with a live progress bar while it is being made. */
export function BackupStatus({
  status,
  progress,
  label,
}: {
  status: BackupStatus;
  progress: number;
  label: string;
}) {
  const tone = TONES[status];
  const isMaking = status === 'NEW' || status === 'BUILDING';
  return (
    <div className="flex min-w-36 flex-col gap-1.5">
      <Badge tone={tone} data-status={status} className="w-fit">
        {tone === 'progress' ? (
          <Spinner className="size-3" />
        ) : (
          <span className="size-1.5 rounded-full bg-current" aria-hidden="true" />
        )}
        {status}
      </Badge>
      {isMaking ? (
        <div
          role="progressbar"
          aria-label={`Progress of ${label}`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={progress}
          className="h-1.5 w-full overflow-hidden rounded-full bg-zinc-200"
        >
          <div
            className="h-full rounded-full bg-sky-500 transition-[width] duration-500"
            style={{ width: `${Math.max(2, progress)}%` }}
          />
        </div>
      ) : null}
    </div>
  );
}
