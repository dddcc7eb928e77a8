'use client';

import { useQuery } from '@tanstack/react-query';
import { Plus } from 'lucide-react';
import { useState } from 'react';

import { Button } from '~/components/ui/button';
import { Card, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { PanelState } from '~/components/ui/panel-state';
import { type InstancePanelProps } from '~/components/instance/instance-panel';
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
  const backups = useQuery(trpc.backup.list.queryOptions({ projectId, instanceId }));
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
        <PanelState variant="card" query={backups}>
          {(list) => (
            <BackupList
              projectId={projectId}
              backups={list}
              canWrite={canWrite}
              showInstance={false}
            />
          )}
        </PanelState>
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
