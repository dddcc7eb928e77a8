'use client';

import { instanceNameSchema } from '@coffer/contracts';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';

import { Field, Select, TextField } from '~/components/ui/field';
import { FormDialog } from '~/components/ui/form-dialog';
import { randomSuffix } from '~/lib/passwords';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';
import { type BackupDialogProps } from './types';

/**
 * Restores a backup into a new instance (Trove's create with a restore point): a name and a
 * flavor, prefilled, so it is two clicks from the list. The new instance's page opens and
 * shows it BUILD, then ACTIVE with the data.
 */
export function RestoreDialog({ projectId, backup, onClose }: BackupDialogProps) {
  const trpc = useTRPC();
  const router = useRouter();
  const flavors = useQuery({ ...trpc.catalog.flavors.queryOptions(), enabled: backup !== null });
  const [name, setName] = useState('');
  const [flavorId, setFlavorId] = useState('');
  const [requestId, setRequestId] = useState(() => crypto.randomUUID());
  const [nameError, setNameError] = useState<string | null>(null);
  const [volumeSizeGb, setVolumeSizeGb] = useState('');
  const [sizeError, setSizeError] = useState<string | null>(null);
  const needs = useQuery({
    ...trpc.backup.restoreNeeds.queryOptions({ projectId, backupId: backup?.id ?? '' }),
    enabled: backup !== null,
  });
  const neededGb = needs.data?.neededVolumeGb ?? 1;

  useEffect(() => {
    if (!backup) return;
    setName(`${backup.instanceName}-restore-${randomSuffix()}`.slice(0, 64));
    setRequestId(crypto.randomUUID());
    setNameError(null);
    setSizeError(null);
    setVolumeSizeGb('');
  }, [backup]);
  useEffect(() => {
    const first = flavors.data?.[0];
    if (first && !flavorId) setFlavorId(first.id);
  }, [flavors.data, flavorId]);

  const restore = useMutation(
    trpc.instance.create.mutationOptions({
      onSuccess: (instance) => {
        onClose();
        router.push(`/p/${projectId}/instances/${instance.id}`);
      },
    }),
  );
  const errors = restore.error ? describeError(restore.error) : null;
  const flavor = flavors.data?.find((candidate) => candidate.id === flavorId);
  // The flavor's volume, or what the backup needs if more, until the size is typed.
  useEffect(() => {
    if (backup && flavor && needs.data && volumeSizeGb === '')
      setVolumeSizeGb(String(Math.max(flavor.defaultVolumeGb, needs.data.neededVolumeGb)));
  }, [backup, flavor, needs.data, volumeSizeGb]);

  function close() {
    restore.reset();
    onClose();
  }

  return (
    <FormDialog
      open={backup !== null}
      onClose={close}
      title={backup ? `Restore ${backup.name}?` : 'Restore'}
      description={
        backup
          ? `A new instance is made from this backup of ${backup.instanceName}, with its data as it was then. Every chunk is verified first.`
          : undefined
      }
      onSubmit={() => {
        if (!backup || !flavor) return;
        const parsed = instanceNameSchema.safeParse(name);
        if (!parsed.success) return setNameError(parsed.error.issues[0]?.message ?? 'Invalid name');
        setNameError(null);
        const size = Number(volumeSizeGb);
        if (!Number.isInteger(size) || size < neededGb)
          return setSizeError(`This backup needs a volume of at least ${neededGb} GB`);
        setSizeError(null);
        restore.mutate({
          projectId,
          name: parsed.data,
          flavorId: flavor.id,
          volumeSizeGb: size,
          restoreFromBackupId: backup.id,
          requestId,
        });
      }}
      error={
        errors
          ? (errors.fieldErrors.restoreFromBackupId?.[0] ??
            (Object.keys(errors.fieldErrors).length ? null : errors.message))
          : null
      }
      submitLabel="Restore to new instance"
      isPending={restore.isPending}
      isSubmitDisabled={!flavor || !needs.data}
    >
      <TextField
        label="New instance name"
        error={nameError ?? errors?.fieldErrors.name?.[0]}
        value={name}
        onValueChange={setName}
        maxLength={64}
      />
      <TextField
        label="Volume size (GB)"
        type="number"
        inputMode="numeric"
        hint={`At least ${neededGb} GB: what this backup held before compression`}
        error={sizeError ?? errors?.fieldErrors.volumeSizeGb?.[0]}
        value={volumeSizeGb}
        onValueChange={setVolumeSizeGb}
      />
      <Field label="Flavor" error={errors?.fieldErrors.flavorId?.[0]}>
        <Select value={flavorId} onChange={(event) => setFlavorId(event.target.value)}>
          {flavors.data?.map((candidate) => (
            <option key={candidate.id} value={candidate.id}>
              {candidate.name} ({candidate.vcpus} vCPU, {candidate.ramMb} MB,{' '}
              {candidate.defaultVolumeGb} GB)
            </option>
          ))}
        </Select>
      </Field>
    </FormDialog>
  );
}
