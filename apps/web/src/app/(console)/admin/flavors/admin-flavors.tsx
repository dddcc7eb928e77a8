'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Plus } from 'lucide-react';
import { useState } from 'react';

import { Badge } from '~/components/ui/badge';
import { Button } from '~/components/ui/button';
import { ACTIONS_COLUMN, QueryTable, RowAction } from '~/components/ui/data-table';
import { TextField } from '~/components/ui/field';
import { FormDialog } from '~/components/ui/form-dialog';
import { PageHeader } from '~/components/ui/page';
import { TD, TR } from '~/components/ui/table';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';

/**
 * Operators' flavors (issue 13): each with its vCPUs, RAM, default and maximum volume and how
 * many instances have it; create, edit, disable (a disabled flavor is no longer offered for
 * creates and resizes; instances that have it keep it).
 */

interface FlavorRow {
  id: string;
  name: string;
  vcpus: number;
  ramMb: number;
  defaultVolumeGb: number;
  maxVolumeGb: number;
  isDisabled: boolean;
  instanceCount: number;
}

const FIELDS = [
  ['vcpus', 'vCPUs'],
  ['ramMb', 'RAM (MB)'],
  ['defaultVolumeGb', 'Default volume (GB)'],
  ['maxVolumeGb', 'Maximum volume (GB)'],
] as const;
type FieldName = (typeof FIELDS)[number][0];

export function AdminFlavors() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const flavors = useQuery(trpc.admin.flavors.queryOptions());
  const [editing, setEditing] = useState<FlavorRow | 'new' | null>(null);
  const update = useMutation(
    trpc.admin.updateFlavor.mutationOptions({
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.admin.flavors.queryKey() }),
    }),
  );
  return (
    <>
      <PageHeader
        title="Flavors"
        description="What tenants may choose for their instances. A change of vCPUs or RAM applies to new instances and resizes; running instances keep their size until resized."
        actions={
          <Button onClick={() => setEditing('new')}>
            <Plus aria-hidden="true" />
            New flavor
          </Button>
        }
      />
      {update.error ? (
        <p role="alert" className="mb-4 text-sm text-red-600">
          {describeError(update.error).message}
        </p>
      ) : null}
      <QueryTable
        query={flavors}
        errorLabel="Could not load flavors"
        label="Flavors"
        columns={[
          'Flavor',
          'vCPUs',
          'RAM',
          'Default volume',
          'Maximum volume',
          'Instances',
          ACTIONS_COLUMN,
        ]}
      >
        {(flavor) => (
          <TR key={flavor.id}>
            <TD className="font-medium text-zinc-900">
              {flavor.name}
              {flavor.isDisabled ? (
                <Badge tone="neutral" className="ml-2">
                  Disabled
                </Badge>
              ) : null}
            </TD>
            <TD className="tabular-nums">{flavor.vcpus}</TD>
            <TD className="tabular-nums">{flavor.ramMb} MB</TD>
            <TD className="tabular-nums">{flavor.defaultVolumeGb} GB</TD>
            <TD className="tabular-nums">{flavor.maxVolumeGb} GB</TD>
            <TD className="tabular-nums">{flavor.instanceCount}</TD>
            <TD className="space-x-2 text-right">
              <RowAction onClick={() => setEditing(flavor)}>Edit</RowAction>
              <RowAction
                onClick={() =>
                  update.mutate({ flavorId: flavor.id, isDisabled: !flavor.isDisabled })
                }
              >
                {flavor.isDisabled ? 'Enable' : 'Disable'}
              </RowAction>
            </TD>
          </TR>
        )}
      </QueryTable>
      {editing ? (
        <FlavorDialog
          flavor={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
        />
      ) : null}
    </>
  );
}

function FlavorDialog({ flavor, onClose }: { flavor: FlavorRow | null; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState(flavor?.name ?? '');
  const [values, setValues] = useState<Record<FieldName, string>>({
    vcpus: String(flavor?.vcpus ?? 1),
    ramMb: String(flavor?.ramMb ?? 1024),
    defaultVolumeGb: String(flavor?.defaultVolumeGb ?? 5),
    maxVolumeGb: String(flavor?.maxVolumeGb ?? 100),
  });
  const done = {
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: trpc.admin.flavors.queryKey() });
      onClose();
    },
  };
  const create = useMutation(trpc.admin.createFlavor.mutationOptions(done));
  const update = useMutation(trpc.admin.updateFlavor.mutationOptions(done));
  const failure = create.error ?? update.error;
  const described = failure ? describeError(failure) : null;
  const numbers = Object.fromEntries(
    FIELDS.map(([field]) => [field, Number(values[field])]),
  ) as Record<FieldName, number>;

  return (
    <FormDialog
      onClose={onClose}
      title={flavor ? `Edit ${flavor.name}` : 'New flavor'}
      noValidate
      onSubmit={() =>
        flavor
          ? update.mutate({ flavorId: flavor.id, ...numbers })
          : create.mutate({ name: name.trim(), ...numbers })
      }
      error={described?.message ?? null}
      submitLabel={flavor ? 'Save flavor' : 'Create flavor'}
      isPending={create.isPending || update.isPending}
    >
      {flavor ? null : (
        <TextField
          label="Name"
          value={name}
          placeholder="m1.xlarge"
          error={described?.fieldErrors.name?.[0]}
          onValueChange={setName}
        />
      )}
      {FIELDS.map(([field, label]) => (
        <TextField
          key={field}
          label={label}
          type="number"
          inputMode="numeric"
          min={1}
          value={values[field]}
          error={described?.fieldErrors[field]?.[0]}
          onValueChange={(value) => setValues((current) => ({ ...current, [field]: value }))}
        />
      ))}
    </FormDialog>
  );
}
