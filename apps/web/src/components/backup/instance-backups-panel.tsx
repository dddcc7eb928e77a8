'use client';

import { BACKUP_STATUSES } from '@coffer/contracts';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Plus } from 'lucide-react';
import { useState } from 'react';

import { Button } from '~/components/ui/button';
import { Card, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { ListControls, ListPager, useListParams } from '~/components/ui/list-controls';
import { PanelState } from '~/components/ui/panel-state';
import { type InstancePanelProps } from '~/components/instance/instance-panel';
import { BACKUP_SORTS, backupPageInput, readBackupListParams } from '~/lib/list-params';
import { useTRPC } from '~/trpc/react';
import { BackupList } from './backup-list';
import { BackupScheduleCard } from './backup-schedule-card';
import { CreateBackupDialog } from './create-backup-dialog';

/** The Backups tab of an instance: its backups live, create one, restore, delete, and the schedule. */
export function InstanceBackupsPanel({
  projectId,
  instanceId,
  status,
  backupStrategy,
  canWrite,
}: InstancePanelProps & {
  /** The datastore version's: what a backup is by default, and whether incrementals exist. */
  backupStrategy: 'PHYSICAL' | 'LOGICAL';
}) {
  const trpc = useTRPC();
  // The view in the URL beside the tab (`b-q`, `b-status`, `b-sort`, `b-page`).
  const list = useListParams(readBackupListParams, 'b-');
  const backups = useQuery({
    ...trpc.backup.listPage.queryOptions(backupPageInput(projectId, list, instanceId)),
    placeholderData: keepPreviousData,
  });
  const listed = backups.data;
  const hasBackups = !!listed && (listed.total > 0 || list.isFiltered || list.page > 1);
  const [isCreateOpen, setIsCreateOpen] = useState(false);

  return (
    // The table takes the full width (beside the schedule it had to scroll to show Restore at
    // 1366 px); the schedule's form below it.
    <div className="space-y-6">
      <Card>
        <CardHeader className="flex flex-row items-start justify-between gap-4">
          <div className="space-y-1.5">
            <CardTitle>Backups</CardTitle>
            <CardDescription>
              Compressed, encrypted with the project&apos;s key, and verified chunk by chunk before
              any restore.
            </CardDescription>
          </div>
          {canWrite ? (
            <Button
              size="sm"
              onClick={() => setIsCreateOpen(true)}
              disabled={status !== 'ACTIVE'}
              title={status !== 'ACTIVE' ? `The instance is ${status}` : undefined}
            >
              <Plus aria-hidden="true" />
              Create backup
            </Button>
          ) : null}
        </CardHeader>
        {hasBackups ? (
          <div className="px-5 pt-4">
            <ListControls
              list={list}
              label="Backups"
              searchPlaceholder="Backup name"
              statuses={BACKUP_STATUSES}
              sorts={BACKUP_SORTS}
            />
          </div>
        ) : null}
        <PanelState variant="card" query={{ error: backups.error, data: listed?.items }}>
          {(rows) => (
            <BackupList
              projectId={projectId}
              backups={rows}
              canWrite={canWrite}
              showInstance={false}
              isFiltered={list.isFiltered}
            />
          )}
        </PanelState>
        <div className="px-5 pb-4">
          <ListPager label="Backup pages" listed={listed} onPage={list.setPage} />
        </div>
      </Card>
      <div className="max-w-xl">
        <BackupScheduleCard projectId={projectId} instanceId={instanceId} canWrite={canWrite} />
      </div>
      {canWrite && isCreateOpen ? (
        <CreateBackupDialog
          projectId={projectId}
          instanceId={instanceId}
          backupStrategy={backupStrategy}

          onClose={() => setIsCreateOpen(false)}
        />
      ) : null}
    </div>
  );
}
