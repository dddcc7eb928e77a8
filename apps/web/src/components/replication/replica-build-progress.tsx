'use client';

import { useQuery } from '@tanstack/react-query';

import { replicaBuildProgress } from '~/lib/replica-progress';
import { useTRPC } from '~/trpc/react';

/**
 * A replica being built: a bar and what happens now (snapshotting the source with its bytes,
 * creating the server, restoring and starting MariaDB, connecting replication), live: the
 * replica's row and its snapshot's are re-read on every change event of the project.
 */
export function ReplicaBuildProgress({
  projectId,
  replica,
}: {
  projectId: string;
  replica: {
    name: string;
    status: string;
    serviceStatus: string;
    host: string | null;
    restoredFromBackupId: string | null;
    replication: { source: { name: string } | null };
  };
}) {
  const trpc = useTRPC();
  const snapshotId = replica.restoredFromBackupId;
  const snapshot = useQuery({
    ...trpc.backup.get.queryOptions({ projectId, backupId: snapshotId ?? '' }),
    enabled: !!snapshotId,
    // Once the replica is built its snapshot is deleted: "not found" is no error here.
    retry: false,
  });
  const progress = replicaBuildProgress(
    {
      status: replica.status,
      serviceStatus: replica.serviceStatus,
      host: replica.host,
      sourceName: replica.replication.source?.name ?? 'the source',
    },
    snapshotId && snapshot.isPending ? 'unread' : (snapshot.data ?? null),
  );
  return (
    <div className="flex min-w-44 max-w-72 flex-col gap-1.5" data-build-phase={progress.phase}>
      <div
        role="progressbar"
        aria-label={`Building ${replica.name}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={progress.percent}
        aria-valuetext={`${progress.percent}%: ${progress.phase}`}
        className="h-1.5 w-full overflow-hidden rounded-full bg-zinc-200"
      >
        <div
          className="h-full rounded-full bg-sky-500 transition-[width] duration-500"
          style={{ width: `${Math.max(2, progress.percent)}%` }}
        />
      </div>
      <p className="text-xs text-zinc-600" aria-live="polite">
        {progress.phase}
      </p>
    </div>
  );
}
