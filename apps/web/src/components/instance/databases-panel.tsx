'use client';

import {
  CHARACTER_SETS,
  collationsOf,
  databaseSpecSchema,
  defaultCollationOf,
} from '@coffer/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Database, Trash } from 'lucide-react';
import { useState } from 'react';

import { Card, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { CardForm } from '~/components/ui/card-form';
import { ACTIONS_COLUMN, DataTable, RowAction } from '~/components/ui/data-table';
import { Field, Select, TextField } from '~/components/ui/field';
import { parseForm } from '~/components/ui/form-errors';
import { MutationConfirmDialog } from '~/components/ui/mutation-confirm-dialog';
import { CardEmptyState, PanelState } from '~/components/ui/panel-state';
import { TD, TR } from '~/components/ui/table';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';
import { type InstancePanelProps } from './instance-panel';
import { InactiveNotice } from './secret-notice';

const SERVER_DEFAULT_CHARACTER_SET = 'utf8mb4';

type Errors = Partial<Record<'name' | 'characterSet' | 'collation', string>>;

/** The databases of an instance: listed (system schemas never are), created with a character set and collation, deleted with confirmation. */
export function DatabasesPanel({ projectId, instanceId, status, canWrite }: InstancePanelProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const isActive = status === 'ACTIVE';
  const databases = useQuery({
    ...trpc.database.list.queryOptions({ projectId, instanceId }),
    enabled: isActive,
  });
  // Deleting a database takes its grants with it: the users' access changes too.
  const invalidate = () =>
    Promise.all([
      queryClient.invalidateQueries({
        queryKey: trpc.database.list.queryKey({ projectId, instanceId }),
      }),
      queryClient.invalidateQueries({
        queryKey: trpc.databaseUser.list.queryKey({ projectId, instanceId }),
      }),
    ]);
  const remove = useMutation(trpc.database.delete.mutationOptions({ onSuccess: invalidate }));
  const [deleting, setDeleting] = useState<string | null>(null);

  if (!isActive) return <InactiveNotice status={status} what="Databases" />;

  return (
    <div className="grid gap-6 lg:grid-cols-3">
      <Card className="lg:col-span-2">
        <CardHeader>
          <CardTitle>Databases</CardTitle>
          <CardDescription>
            The schemas of this server. System schemas (mysql, sys…) are managed by Coffer and not
            shown.
          </CardDescription>
        </CardHeader>
        <PanelState
          variant="card"
          query={databases}
          empty={
            <CardEmptyState
              icon={<Database />}
              title="No databases yet"
              description="Create one to hold your tables."
            />
          }
        >
          {(list) => (
            <DataTable
              label="Databases"
              columns={['Name', 'Character set', 'Collation', canWrite && ACTIONS_COLUMN]}
              rows={list}
            >
              {(database) => (
                <TR key={database.name}>
                  <TD className="font-mono font-medium text-zinc-900">{database.name}</TD>
                  <TD>{database.characterSet}</TD>
                  <TD>{database.collation}</TD>
                  {canWrite ? (
                    <TD className="text-right">
                      <RowAction
                        icon={Trash}
                        aria-label={`Delete database ${database.name}`}
                        onClick={() => setDeleting(database.name)}
                      >
                        Delete
                      </RowAction>
                    </TD>
                  ) : null}
                </TR>
              )}
            </DataTable>
          )}
        </PanelState>
      </Card>
      {canWrite ? (
        <CreateDatabaseForm projectId={projectId} instanceId={instanceId} onCreated={invalidate} />
      ) : null}

      <MutationConfirmDialog
        target={deleting}
        onClose={() => setDeleting(null)}
        mutation={remove}
        variables={(name) => ({ projectId, instanceId, name })}
        title={(name) => `Delete database ${name}?`}
        description="Its tables and all their data are removed, and every user loses its access to it. This cannot be undone."
        confirmLabel="Delete database"
      />
    </div>
  );
}

function CreateDatabaseForm({
  projectId,
  instanceId,
  onCreated,
}: {
  projectId: string;
  instanceId: string;
  onCreated: () => unknown;
}) {
  const trpc = useTRPC();
  const [name, setName] = useState('');
  const [characterSet, setCharacterSet] = useState('');
  const [collation, setCollation] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const create = useMutation(
    trpc.database.create.mutationOptions({
      onSuccess: async () => {
        setName('');
        setErrors({});
        await onCreated();
      },
      onError: (error) => {
        const { fieldErrors } = describeError(error);
        setErrors({
          name: fieldErrors.name?.[0],
          characterSet: fieldErrors.characterSet?.[0],
          collation: fieldErrors.collation?.[0],
        });
      },
    }),
  );
  const collations = collationsOf(characterSet || SERVER_DEFAULT_CHARACTER_SET);

  return (
    <CardForm
      title="Create a database"
      className="h-fit"
      onSubmit={() => {
        const spec = {
          name,
          ...(characterSet ? { characterSet } : {}),
          ...(collation ? { collation } : {}),
        };
        const data = parseForm(databaseSpecSchema, spec, setErrors);
        if (data) create.mutate({ projectId, instanceId, ...data });
      }}
      mutation={create}
      fieldErrors={errors}
      submitLabel="Create database"
    >
      <TextField
        label="Database name"
        error={errors.name}
        hint="Letters, digits, _ $ and -; up to 64 characters."
        value={name}
        onValueChange={setName}
        placeholder="orders"
        autoComplete="off"
      />
      <Field label="Character set" error={errors.characterSet}>
        <Select
          value={characterSet}
          onChange={(e) => {
            setCharacterSet(e.target.value);
            setCollation('');
          }}
        >
          <option value="">Server default ({SERVER_DEFAULT_CHARACTER_SET})</option>
          {CHARACTER_SETS.map((set) => (
            <option key={set} value={set}>
              {set}
            </option>
          ))}
        </Select>
      </Field>
      <Field label="Collation" error={errors.collation}>
        <Select value={collation} onChange={(e) => setCollation(e.target.value)}>
          <option value="">
            {characterSet ? `Default (${defaultCollationOf(characterSet)})` : 'Server default'}
          </option>
          {collations.map((option) => (
            <option key={option} value={option}>
              {option}
            </option>
          ))}
        </Select>
      </Field>
    </CardForm>
  );
}
