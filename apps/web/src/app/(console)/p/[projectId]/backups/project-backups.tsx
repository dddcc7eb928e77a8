'use client';

import { useQuery } from '@tanstack/react-query';

import { BackupList } from '~/components/backup/backup-list';
import { formatBytes } from '~/components/backup/format';
import { Card } from '~/components/ui/card';
import { PageHeader } from '~/components/ui/page';
import { useTRPC } from '~/trpc/react';

/** Every backup of the project, of instances that still exist or not, live; restore and delete from here. */
export function ProjectBackups({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const backups = useQuery(trpc.backup.list.queryOptions({ projectId }));
  const project = useQuery(trpc.project.get.queryOptions({ projectId }));
  const canWrite = !!project.data && project.data.role !== 'VIEWER';
  const stored =
    backups.data?.reduce(
      (sum, backup) => sum + (backup.status === 'COMPLETED' ? (backup.sizeBytes ?? 0) : 0),
      0,
    ) ?? 0;

  return (
    <>
      <PageHeader
        title="Backups"
        description={
          backups.data?.length
            ? `Encrypted backups of this project's instances, in object storage: ${backups.data.length} backup${backups.data.length === 1 ? '' : 's'}, ${formatBytes(stored)} stored. Create them from an instance's Backups tab.`
            : "Encrypted backups of this project's instances, in object storage."
        }
      />
      {backups.error ? (
        <p role="alert" className="text-sm text-red-600">
          Could not load backups: {backups.error.message}
        </p>
      ) : !backups.data ? (
        <p className="text-sm text-zinc-500">Loading backups…</p>
      ) : (
        <Card>
          <BackupList
            projectId={projectId}
            backups={backups.data}
            canWrite={canWrite}
            showInstance
          />
        </Card>
      )}
    </>
  );
}
