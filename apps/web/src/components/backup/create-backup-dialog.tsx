'use client';

import { type BackupType } from '@coffer/contracts';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';

import { Field, Select, TextField } from '~/components/ui/field';
import { FormDialog } from '~/components/ui/form-dialog';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';

const TYPES: Array<{ value: BackupType; label: string; hint: string }> = [
  {
    value: 'FULL',
    label: 'Full (physical)',
    hint: 'A copy of the whole server with mariadb-backup. The fastest to make and to restore.',
  },
  {
    value: 'INCREMENTAL',
    label: 'Incremental (physical)',
    hint: "Only the pages changed since the instance's newest full or incremental backup.",
  },
  {
    value: 'LOGICAL',
    label: 'Logical (SQL dump)',
    hint: 'The databases and users as SQL with mariadb-dump, in one consistent snapshot.',
  },
];

/** Starts a backup of an instance: full, incremental or logical, optionally named. */
export function CreateBackupDialog({
  projectId,
  instanceId,
  backupStrategy,
  onClose,
}: {
  projectId: string;
  instanceId: string;
  backupStrategy: 'PHYSICAL' | 'LOGICAL';
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const defaultType: BackupType = backupStrategy === 'LOGICAL' ? 'LOGICAL' : 'FULL';
  // A logical strategy has no incrementals to offer.
  const types = TYPES.filter(
    (option) => backupStrategy === 'PHYSICAL' || option.value !== 'INCREMENTAL',
  );
  const [type, setType] = useState<BackupType>(defaultType);
  const [name, setName] = useState('');
  const create = useMutation(trpc.backup.create.mutationOptions({ onSuccess: onClose }));
  const errors = create.error ? describeError(create.error) : null;

  return (
    <FormDialog
      onClose={onClose}
      title="Create a backup"
      description="Encrypted in the object store. The instance shows BACKUP while it is made."
      onSubmit={() =>
        create.mutate({
          projectId,
          instanceId,
          type,
          ...(name.trim() ? { name: name.trim() } : {}),
        })
      }
      error={errors && Object.keys(errors.fieldErrors).length === 0 ? errors.message : null}
      submitLabel="Start backup"
      isPending={create.isPending}
    >
      <Field
        label="Backup type"
        hint={TYPES.find((option) => option.value === type)?.hint}
        error={errors?.fieldErrors.type?.[0] ?? errors?.fieldErrors.parentId?.[0]}
      >
        <Select value={type} onChange={(event) => setType(event.target.value as BackupType)}>
          {types.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </Select>
      </Field>
      <TextField
        label="Backup name"
        hint="Optional; the type and time by default."
        error={errors?.fieldErrors.name?.[0]}
        value={name}
        onValueChange={setName}
        placeholder="e.g. before the upgrade"
        maxLength={100}
      />
    </FormDialog>
  );
}
