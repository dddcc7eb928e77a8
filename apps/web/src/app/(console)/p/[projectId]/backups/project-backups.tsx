'use client';

import { useQuery } from '@tanstack/react-query';

import { BackupList } from '~/components/backup/backup-list';
import { formatBytes } from '~/components/backup/format';
import { Card } from '~/components/ui/card';
import { PageHeader } from '~/components/ui/page';
import { PanelState } from '~/components/ui/panel-state';
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
      <PanelState
        variant="page"
        query={backups}
        errorLabel="Could not load backups"
        loadingLabel="Loading backups…"
      >
        {(list) => (
          <Card>
            <BackupList projectId={projectId} backups={list} canWrite={canWrite} showInstance />
          </Card>
        )}
      </PanelState>
    </>
  );
}
