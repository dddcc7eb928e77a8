'use client';

import { datastoreDisplayName } from '@coffer/contracts';
import { useMutation } from '@tanstack/react-query';
import { Archive, RotateCcw, Trash } from 'lucide-react';
import Link from 'next/link';
import { useState } from 'react';

import { Button } from '~/components/ui/button';
import { ACTIONS_COLUMN, DataTable, RowAction } from '~/components/ui/data-table';
import { Dialog, DialogActions } from '~/components/ui/dialog';
import { Checkbox, FormError } from '~/components/ui/field';
import { EmptyState } from '~/components/ui/page';
import { TD, TR } from '~/components/ui/table';
import { DateTime } from '~/components/ui/date-time';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';
import { BackupStatus } from './backup-status';
import { formatBytes, formatDuration, TYPE_LABELS } from './format';
import { RestoreDialog } from './restore-dialog';
import { type BackupDialogProps, type BackupView } from './types';

/**
 * Backups as a table (one instance's, or the project's with their instance): type, parent,
 * status with live progress, size, duration, datastore version; restore to a new instance in
 * two clicks; delete with confirmation (with the chain built on it, when asked).
 */
export function BackupList({
  projectId,
  backups,
  canWrite,
  showInstance,
  isFiltered = false,
}: {
  projectId: string;
  backups: BackupView[];
  canWrite: boolean;
  showInstance: boolean;
  /** A search or filter chose these: none is "no match", not "no backups yet". */
  isFiltered?: boolean;
}) {
  const [restoring, setRestoring] = useState<BackupView | null>(null);
  const [deleting, setDeleting] = useState<BackupView | null>(null);
  const nameOf = new Map(backups.map((backup) => [backup.id, backup.name]));

  if (backups.length === 0 && isFiltered) {
    return (
      <EmptyState
        icon={<Archive />}
        title="No backup matches"
        description="Change the search or the filters to see more."
        className="border-0 py-8"
      />
    );
  }
  if (backups.length === 0) {
    return (
      <EmptyState
        icon={<Archive />}
        title="No backups yet"
        description="Backups are encrypted, compressed and stored in the object store; restore any of them to a new instance."
        className="border-0 py-8"
      />
    );
  }

  return (
    <>
      <DataTable
        label="Backups"
        columns={[
          'Name',
          showInstance && 'Instance',
          'Type',
          'Status',
          'Size',
          'Duration',
          'Created',
          canWrite && ACTIONS_COLUMN,
        ]}
        rows={backups}
      >
        {(backup) => (
          <TR key={backup.id} data-backup-id={backup.id}>
            <TD>
              <div className="font-medium text-zinc-900">{backup.name}</div>
              <div className="text-xs text-zinc-500">
                {datastoreDisplayName(backup.datastore.name)} {backup.datastore.version}
                {backup.isScheduled ? ' · scheduled' : ''}
              </div>
            </TD>
            {showInstance ? (
              <TD>
                <Link
                  href={`/p/${projectId}/instances/${backup.instanceId}`}
                  className="text-accent-700 hover:underline"
                >
                  {backup.instanceName}
                </Link>
              </TD>
            ) : null}
            <TD>
              <div>{TYPE_LABELS[backup.type]}</div>
              {backup.parentId ? (
                <div className="text-xs text-zinc-500">
                  on {nameOf.get(backup.parentId) ?? backup.parentId.slice(0, 8)}
                </div>
              ) : null}
            </TD>
            <TD>
              <BackupStatus status={backup.status} progress={backup.progress} label={backup.name} />
              {backup.status === 'FAILED' && backup.faultMessage ? (
                <p className="mt-1 max-w-xs text-xs text-red-700">{backup.faultMessage}</p>
              ) : null}
            </TD>
            <TD>{formatBytes(backup.sizeBytes)}</TD>
            <TD>{formatDuration(backup.durationMs)}</TD>
            <TD className="whitespace-nowrap">
              <DateTime value={backup.createdAt} />
            </TD>
            {canWrite ? (
              <TD className="text-right">
                <div className="flex justify-end gap-2">
                  <RowAction
                    variant="secondary"
                    icon={RotateCcw}
                    disabled={backup.status !== 'COMPLETED'}
                    onClick={() => setRestoring(backup)}
                    aria-label={`Restore ${backup.name}`}
                  >
                    Restore
                  </RowAction>
                  <RowAction
                    icon={Trash}
                    disabled={backup.status !== 'COMPLETED' && backup.status !== 'FAILED'}
                    onClick={() => setDeleting(backup)}
                    aria-label={`Delete ${backup.name}`}
                  />
                </div>
              </TD>
            ) : null}
          </TR>
        )}
      </DataTable>
      <RestoreDialog projectId={projectId} backup={restoring} onClose={() => setRestoring(null)} />
      <DeleteBackupDialog
        projectId={projectId}
        backup={deleting}
        onClose={() => setDeleting(null)}
      />
    </>
  );
}

function DeleteBackupDialog({ projectId, backup, onClose }: BackupDialogProps) {
  const trpc = useTRPC();
  const [includeDependents, setIncludeDependents] = useState(false);
  const remove = useMutation(trpc.backup.delete.mutationOptions({ onSuccess: () => close() }));

  function close() {
    setIncludeDependents(false);
    remove.reset();
    onClose();
  }

  const dependents = backup?.dependentCount ?? 0;
  return (
    <Dialog
      open={backup !== null}
      onClose={close}
      title={backup ? `Delete ${backup.name}?` : 'Delete'}
      description="Its objects are removed from the object store. This cannot be undone."
    >
      {dependents > 0 ? (
        <Checkbox
          className="items-start"
          inputClassName="mt-0.5"
          checked={includeDependents}
          onCheckedChange={setIncludeDependents}
        >
          <span>
            Also delete the{' '}
            {dependents === 1 ? 'incremental backup' : `${dependents} incremental backups`} built on
            it (they cannot be restored without it)
          </span>
        </Checkbox>
      ) : null}
      <FormError message={remove.error ? describeError(remove.error).message : null} />
      <DialogActions onCancel={close} isPending={remove.isPending}>
        <Button
          variant="danger"
          isLoading={remove.isPending}
          disabled={dependents > 0 && !includeDependents}
          onClick={() =>
            backup && remove.mutate({ projectId, backupId: backup.id, includeDependents })
          }
        >
          Delete backup
        </Button>
      </DialogActions>
    </Dialog>
  );
}
