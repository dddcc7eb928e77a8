'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { Maximize2, Pencil } from 'lucide-react';
import { useState } from 'react';

import { Button } from '~/components/ui/button';
import { Checkbox, Field, Select, TextField } from '~/components/ui/field';
import { FormDialog } from '~/components/ui/form-dialog';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';

/**
 * Resize and rename on the instance page (issue 13): "Resize" opens a dialog with the flavor
 * picker and the volume size (grow only, up to the flavor's maximum), and asks to confirm
 * what changes (a flavor change restarts the database server); "Rename" a dialog with the
 * name. Both only while the instance is ACTIVE (rename: unless it is being deleted).
 */

interface ResizableInstance {
  id: string;
  name: string;
  status: string;
  volumeSizeGb: number;
  flavor: { id: string; name: string };
  replication: { role: string; replicaCount: number };
}

/** What each dialog of the instance's actions is given. */
interface InstanceDialogProps {
  projectId: string;
  instance: ResizableInstance;
  onClose: () => void;
}

function ResizeDialog({ projectId, instance, onClose }: InstanceDialogProps) {
  const trpc = useTRPC();
  const flavors = useQuery(trpc.catalog.flavors.queryOptions());
  const [flavorId, setFlavorId] = useState(instance.flavor.id);
  const [volume, setVolume] = useState(String(instance.volumeSizeGb));
  const [includeReplicas, setIncludeReplicas] = useState(true);
  const [isConfirming, setIsConfirming] = useState(false);
  const resizeFlavor = useMutation(trpc.instance.resizeFlavor.mutationOptions());
  const resizeVolume = useMutation(trpc.instance.resizeVolume.mutationOptions());

  const chosen = flavors.data?.find((flavor) => flavor.id === flavorId);
  const current = flavors.data?.find((flavor) => flavor.id === instance.flavor.id);
  const volumeGb = Number(volume);
  const isFlavorChange = flavorId !== instance.flavor.id;
  const isVolumeChange = volume.trim() !== '' && volumeGb !== instance.volumeSizeGb;
  const maxVolumeGb = (isFlavorChange ? chosen : current)?.maxVolumeGb;
  const failure = resizeFlavor.error ?? resizeVolume.error;
  const described = failure ? describeError(failure) : null;

  let localError: string | null = null;
  if (isVolumeChange && (!Number.isInteger(volumeGb) || volumeGb < instance.volumeSizeGb))
    localError = `A volume only grows: enter a whole number above ${instance.volumeSizeGb} GB`;
  else if (isVolumeChange && maxVolumeGb !== undefined && volumeGb > maxVolumeGb)
    localError = `This flavor allows volumes of at most ${maxVolumeGb} GB`;
  if (isFlavorChange && isVolumeChange)
    localError ??= 'Change the flavor or the volume, one at a time';

  const isPending = resizeFlavor.isPending || resizeVolume.isPending;
  const submit = () => {
    if (!isConfirming) {
      setIsConfirming(true);
      return;
    }
    const done = { onSuccess: onClose, onError: () => setIsConfirming(false) };
    if (isFlavorChange) resizeFlavor.mutate({ projectId, instanceId: instance.id, flavorId }, done);
    else
      resizeVolume.mutate(
        {
          projectId,
          instanceId: instance.id,
          volumeGb,
          includeReplicas: instance.replication.replicaCount > 0 && includeReplicas,
        },
        done,
      );
  };

  return (
    <FormDialog
      onClose={onClose}
      title={`Resize ${instance.name}`}
      description="A new flavor restarts the database server with limits and buffers sized for it; a volume grows online and never shrinks."
      onSubmit={submit}
      noValidate
      error={localError ?? described?.message ?? null}
      submitLabel={isConfirming ? 'Confirm resize' : 'Resize'}
      isPending={isPending}
      isSubmitDisabled={(!isFlavorChange && !isVolumeChange) || localError !== null}
    >
      <Field label="Flavor" error={described?.fieldErrors.flavorId?.[0]}>
        <Select
          value={flavorId}
          onChange={(event) => {
            setFlavorId(event.target.value);
            setIsConfirming(false);
          }}
        >
          {(flavors.data ?? []).map((flavor) => (
            <option key={flavor.id} value={flavor.id}>
              {flavor.name} ({flavor.vcpus} vCPU, {flavor.ramMb} MB)
              {flavor.id === instance.flavor.id ? ' (current)' : ''}
            </option>
          ))}
          {flavors.data?.some((flavor) => flavor.id === instance.flavor.id) ? null : (
            <option value={instance.flavor.id}>{instance.flavor.name} (current)</option>
          )}
        </Select>
      </Field>
      <TextField
        label="Volume size (GB)"
        type="number"
        inputMode="numeric"
        min={instance.volumeSizeGb}
        max={maxVolumeGb}
        value={volume}
        hint={`Now ${instance.volumeSizeGb} GB${maxVolumeGb ? `; at most ${maxVolumeGb} GB` : ''}.`}
        error={described?.fieldErrors.volumeGb?.[0]}
        onValueChange={(value) => {
          setVolume(value);
          setIsConfirming(false);
        }}
      />
      {instance.replication.replicaCount > 0 && isVolumeChange ? (
        <Checkbox checked={includeReplicas} onCheckedChange={setIncludeReplicas}>
          Grow its replicas to the same size
        </Checkbox>
      ) : null}
      {isConfirming ? (
        <p role="status" className="rounded-md bg-amber-50 p-3 text-sm text-amber-900">
          {isFlavorChange
            ? `${instance.name} will move from ${instance.flavor.name} to ${chosen?.name ?? 'the new flavor'}: its database server restarts (connections drop for a few seconds). If it fails, it goes back to ${instance.flavor.name}.`
            : `The volume of ${instance.name} grows from ${instance.volumeSizeGb} GB to ${volumeGb} GB, online. A volume cannot be made smaller again.`}
        </p>
      ) : null}
    </FormDialog>
  );
}

function RenameDialog({ projectId, instance, onClose }: InstanceDialogProps) {
  const trpc = useTRPC();
  const [name, setName] = useState(instance.name);
  const rename = useMutation(trpc.instance.rename.mutationOptions({ onSuccess: onClose }));
  const described = rename.error ? describeError(rename.error) : null;
  return (
    <FormDialog
      onClose={onClose}
      title={`Rename ${instance.name}`}
      description="The name is only a label: connections, users and backups are not affected."
      onSubmit={() => rename.mutate({ projectId, instanceId: instance.id, name: name.trim() })}
      noValidate
      error={described?.message ?? null}
      submitLabel="Rename"
      isPending={rename.isPending}
      isSubmitDisabled={name.trim() === '' || name.trim() === instance.name}
    >
      <TextField
        label="Name"
        value={name}
        autoFocus
        error={described?.fieldErrors.name?.[0]}
        onValueChange={setName}
      />
    </FormDialog>
  );
}

export function ResizeActions({
  projectId,
  instance,
}: {
  projectId: string;
  instance: ResizableInstance;
}) {
  const [open, setOpen] = useState<'resize' | 'rename' | null>(null);
  return (
    <>
      <Button
        variant="secondary"
        onClick={() => setOpen('resize')}
        disabled={instance.status !== 'ACTIVE'}
      >
        <Maximize2 aria-hidden="true" />
        Resize
      </Button>
      <Button
        variant="secondary"
        onClick={() => setOpen('rename')}
        disabled={instance.status === 'DELETING'}
      >
        <Pencil aria-hidden="true" />
        Rename
      </Button>
      {open === 'resize' ? (
        <ResizeDialog projectId={projectId} instance={instance} onClose={() => setOpen(null)} />
      ) : null}
      {open === 'rename' ? (
        <RenameDialog projectId={projectId} instance={instance} onClose={() => setOpen(null)} />
      ) : null}
    </>
  );
}
