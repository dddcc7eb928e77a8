'use client';

import { instanceNameSchema } from '@coffer/contracts';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';

import { Button } from '~/components/ui/button';
import { Dialog } from '~/components/ui/dialog';
import { Field, FormError, Input, Select } from '~/components/ui/field';
import { randomSuffix } from '~/lib/passwords';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';
import { type BackupView } from './types';

/**
 * Restores a backup into a new instance (Trove's create with a restore point): a name and a
 * flavor, prefilled, so it is two clicks from the list. The new instance's page opens and
 * shows it BUILD, then ACTIVE with the data.
 */
export function RestoreDialog({
  projectId,
  backup,
  onClose,
}: {
  projectId: string;
  backup: BackupView | null;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const flavors = useQuery({ ...trpc.catalog.flavors.queryOptions(), enabled: backup !== null });
  const [name, setName] = useState('');
  const [flavorId, setFlavorId] = useState('');
  const [requestId, setRequestId] = useState(() => crypto.randomUUID());
  const [nameError, setNameError] = useState<string | null>(null);

  useEffect(() => {
    if (!backup) return;
    setName(`${backup.instanceName}-restore-${randomSuffix()}`.slice(0, 64));
    setRequestId(crypto.randomUUID());
    setNameError(null);
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

  function close() {
    restore.reset();
    onClose();
  }

  return (
    <Dialog
      open={backup !== null}
      onClose={close}
      title={backup ? `Restore ${backup.name}?` : 'Restore'}
      description={
        backup
          ? `A new instance is made from this backup of ${backup.instanceName}, with its data as it was then. Every chunk is verified first.`
          : undefined
      }
    >
      <form
        className="space-y-4"
        onSubmit={(event) => {
          event.preventDefault();
          if (!backup || !flavor) return;
          const parsed = instanceNameSchema.safeParse(name);
          if (!parsed.success)
            return setNameError(parsed.error.issues[0]?.message ?? 'Invalid name');
          setNameError(null);
          restore.mutate({
            projectId,
            name: parsed.data,
            flavorId: flavor.id,
            volumeSizeGb: flavor.defaultVolumeGb,
            restoreFromBackupId: backup.id,
            requestId,
          });
        }}
      >
        <Field label="New instance name" error={nameError ?? errors?.fieldErrors.name?.[0]}>
          <Input value={name} onChange={(event) => setName(event.target.value)} maxLength={64} />
        </Field>
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
        {errors ? (
          <FormError
            message={
              errors.fieldErrors.restoreFromBackupId?.[0] ??
              errors.fieldErrors.volumeSizeGb?.[0] ??
              (Object.keys(errors.fieldErrors).length ? null : errors.message)
            }
          />
        ) : null}
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={close} disabled={restore.isPending}>
            Cancel
          </Button>
          <Button type="submit" isLoading={restore.isPending} disabled={!flavor}>
            Restore to new instance
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
