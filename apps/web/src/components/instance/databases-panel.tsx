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

import { Button } from '~/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { ConfirmDialog } from '~/components/ui/dialog';
import { Field, FormError, Input, Select } from '~/components/ui/field';
import { CardEmptyState, PanelState } from '~/components/ui/panel-state';
import { Table, TBody, TD, TH, THead, TR } from '~/components/ui/table';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';
import { InactiveNotice } from './secret-notice';

const SERVER_DEFAULT_CHARACTER_SET = 'utf8mb4';

type Errors = Partial<Record<'name' | 'characterSet' | 'collation', string>>;

/** The databases of an instance: listed (system schemas never are), created with a character set and collation, deleted with confirmation. */
export function DatabasesPanel({
  projectId,
  instanceId,
  status,
  canWrite,
}: {
  projectId: string;
  instanceId: string;
  status: string;
  canWrite: boolean;
}) {
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
            <Table aria-label="Databases">
              <THead>
                <tr>
                  <TH>Name</TH>
                  <TH>Character set</TH>
                  <TH>Collation</TH>
                  {canWrite ? <TH className="text-right">Actions</TH> : null}
                </tr>
              </THead>
              <TBody>
                {list.map((database) => (
                  <TR key={database.name}>
                    <TD className="font-mono font-medium text-zinc-900">{database.name}</TD>
                    <TD>{database.characterSet}</TD>
                    <TD>{database.collation}</TD>
                    {canWrite ? (
                      <TD className="text-right">
                        <Button
                          variant="ghost"
                          size="sm"
                          aria-label={`Delete database ${database.name}`}
                          onClick={() => setDeleting(database.name)}
                        >
                          <Trash aria-hidden="true" />
                          Delete
                        </Button>
                      </TD>
                    ) : null}
                  </TR>
                ))}
              </TBody>
            </Table>
          )}
        </PanelState>
      </Card>
      {canWrite ? (
        <CreateDatabaseForm projectId={projectId} instanceId={instanceId} onCreated={invalidate} />
      ) : null}

      <ConfirmDialog
        open={deleting !== null}
        onClose={() => {
          setDeleting(null);
          remove.reset();
        }}
        title={`Delete database ${deleting ?? ''}?`}
        description="Its tables and all their data are removed, and every user loses its access to it. This cannot be undone."
        confirmLabel="Delete database"
        isPending={remove.isPending}
        error={remove.error ? describeError(remove.error).message : null}
        onConfirm={() =>
          deleting &&
          remove.mutate(
            { projectId, instanceId, name: deleting },
            { onSuccess: () => setDeleting(null) },
          )
        }
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
  const hasFieldErrors = Object.values(errors).some(Boolean);

  return (
    <Card className="h-fit">
      <CardHeader>
        <CardTitle>Create a database</CardTitle>
      </CardHeader>
      <CardContent>
        <form
          noValidate
          className="space-y-4"
          onSubmit={(event) => {
            event.preventDefault();
            const spec = {
              name,
              ...(characterSet ? { characterSet } : {}),
              ...(collation ? { collation } : {}),
            };
            const parsed = databaseSpecSchema.safeParse(spec);
            if (!parsed.success) {
              const next: Errors = {};
              for (const issue of parsed.error.issues)
                next[issue.path[0] as keyof Errors] ??= issue.message;
              setErrors(next);
              return;
            }
            create.mutate({ projectId, instanceId, ...parsed.data });
          }}
        >
          <Field
            label="Database name"
            error={errors.name}
            hint="Letters, digits, _ $ and -; up to 64 characters."
          >
            <Input
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="orders"
              autoComplete="off"
            />
          </Field>
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
          {create.error && !hasFieldErrors ? (
            <FormError message={describeError(create.error).message} />
          ) : null}
          <Button type="submit" isLoading={create.isPending} className="w-full">
            Create database
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}
