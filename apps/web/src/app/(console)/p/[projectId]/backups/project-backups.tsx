'use client';

import { BACKUP_STATUSES } from '@coffer/contracts';
import { keepPreviousData, useQuery } from '@tanstack/react-query';

import { BackupList } from '~/components/backup/backup-list';
import { formatBytes } from '~/components/backup/format';
import { Card } from '~/components/ui/card';
import { ListControls, ListPager, useListParams } from '~/components/ui/list-controls';
import { PageHeader } from '~/components/ui/page';
import { PanelState } from '~/components/ui/panel-state';
import { BACKUP_SORTS, backupPageInput, readBackupListParams } from '~/lib/list-params';
import { useTRPC } from '~/trpc/react';

/**
 * Every backup of the project, of instances that still exist or not, live, a page at a time
 * (searched, filtered and sorted on the server, the view in the URL); restore and delete from here.
 */
export function ProjectBackups({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const list = useListParams(readBackupListParams);
  const backups = useQuery({
    ...trpc.backup.listPage.queryOptions(backupPageInput(projectId, list)),
    placeholderData: keepPreviousData,
  });
  const project = useQuery(trpc.project.get.queryOptions({ projectId }));
  const canWrite = !!project.data && project.data.role !== 'VIEWER';
  const listed = backups.data;
  const hasBackups = !!listed && (listed.total > 0 || list.isFiltered || list.page > 1);

  return (
    <>
      <PageHeader
        title="Backups"
        description={
          listed?.total && !list.isFiltered
            ? `Encrypted backups of this project's instances, in object storage: ${listed.total} backup${listed.total === 1 ? '' : 's'}, ${formatBytes(listed.storedBytes)} stored. Create them from an instance's Backups tab.`
            : "Encrypted backups of this project's instances, in object storage."
        }
      />
      {hasBackups ? (
        <ListControls
          list={list}
          label="Backups"
          searchPlaceholder="Backup or instance name"
          statuses={BACKUP_STATUSES}
          sorts={BACKUP_SORTS}
        />
      ) : null}
      <PanelState
        variant="page"
        query={{ error: backups.error, data: listed?.items }}
        errorLabel="Could not load backups"
        loadingLabel="Loading backups…"
      >
        {(rows) => (
          <Card>
            <BackupList
              projectId={projectId}
              backups={rows}
              canWrite={canWrite}
              showInstance
              isFiltered={list.isFiltered}
            />
          </Card>
        )}
      </PanelState>
      <ListPager label="Backup pages" listed={listed} onPage={list.setPage} />
    </>
  );
}
