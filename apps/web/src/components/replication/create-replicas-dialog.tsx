'use client';

import { MAX_REPLICAS_PER_REQUEST } from '@coffer/contracts';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';

import { Field, Select, TextField } from '~/components/ui/field';
import { FormDialog } from '~/components/ui/form-dialog';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';

/** Creates replicas of an instance, after saying what will happen. */
export function CreateReplicasDialog({
  projectId,
  source,
  onClose,
}: {
  projectId: string;
  source: { id: string; name: string; strategy: 'GTID' | 'BINLOG' };
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const [count, setCount] = useState(1);
  const [name, setName] = useState('');
  const create = useMutation(trpc.replica.create.mutationOptions({ onSuccess: onClose }));
  const errors = create.error ? describeError(create.error) : null;

  return (
    <FormDialog
      onClose={onClose}
      title={`Create replicas of ${source.name}`}
      description={
        <div className="space-y-2">
          <p>
            Coffer takes a snapshot of {source.name} (a full backup; {source.name} shows BACKUP
            meanwhile and stays available), restores it on each new instance, then attaches it to{' '}
            {source.name}{' '}
            {source.strategy === 'GTID' ? 'by GTID' : 'by binary log file and position'}. The
            snapshot is removed once the replicas are built.
          </p>
          <p>
            Replicas are read-only: they serve reads and follow every change made on {source.name}.
            Each one is an instance with the same flavor and volume, and counts against your quota.
          </p>
        </div>
      }
      onSubmit={() =>
        create.mutate({
          projectId,
          sourceInstanceId: source.id,
          count,
          ...(name.trim() ? { name: name.trim() } : {}),
        })
      }
      error={errors && Object.keys(errors.fieldErrors).length === 0 ? errors.message : null}
      submitLabel={count === 1 ? 'Create replica' : `Create ${count} replicas`}
      isPending={create.isPending}
    >
      <Field label="Number of replicas" error={errors?.fieldErrors.count?.[0]}>
        <Select value={count} onChange={(event) => setCount(Number(event.target.value))}>
          {Array.from({ length: MAX_REPLICAS_PER_REQUEST }, (_, index) => index + 1).map(
            (value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ),
          )}
        </Select>
      </Field>
      <TextField
        label="Replica name"
        hint={
          count === 1
            ? `Optional; ${source.name}-replica by default.`
            : `Optional; replicas are named <name>-1, <name>-2…`
        }
        error={errors?.fieldErrors.name?.[0]}
        value={name}
        onValueChange={setName}
        placeholder={`${source.name}-replica`}
        maxLength={64}
      />
    </FormDialog>
  );
}
