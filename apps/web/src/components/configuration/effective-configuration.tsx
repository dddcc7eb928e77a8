'use client';

import { type DisplayStatus } from '@coffer/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { RefreshCw } from 'lucide-react';
import Link from 'next/link';
import { useEffect, useMemo, useRef, useState } from 'react';

import { Badge } from '~/components/ui/badge';
import { Button } from '~/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { DataTable } from '~/components/ui/data-table';
import { Checkbox, FormError, TextField } from '~/components/ui/field';
import { TD, TR } from '~/components/ui/table';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';
import { type EffectiveParameterView } from './types';

/** The guest answers only while its server runs. */
const RUNNING: readonly string[] = [
  'ACTIVE',
  'RESTART_REQUIRED',
  'BACKUP',
] satisfies DisplayStatus[];

const SOURCE_TONES = {
  default: 'neutral',
  flavor: 'progress',
  coffer: 'accent',
  group: 'success',
} as const;

const SOURCE_TEXT: Record<EffectiveParameterView['source'], string> = {
  default: 'default',
  flavor: 'flavor',
  coffer: 'Coffer',
  group: 'group',
};

/** Parameters whose name or value contains `filter`, or only those not at the server's default. */
function filterParameters(
  parameters: EffectiveParameterView[],
  filter: string,
  isSetOnly: boolean,
): EffectiveParameterView[] {
  const needle = filter.trim().toLowerCase().replace(/-/g, '_');
  return parameters.filter(
    (parameter) =>
      (!isSetOnly || parameter.source !== 'default' || parameter.isRestartPending) &&
      (needle === '' ||
        parameter.name.includes(needle) ||
        (parameter.value ?? '').toLowerCase().includes(needle)),
  );
}

/**
 * Every value in force on an instance (its guest's answer, asked through the taskmanager):
 * where it comes from (the server's default, the flavor, Coffer's own choice, the group) and
 * whether it waits for a restart; a filter over the hundreds of parameters; and a new group
 * from these values. Read again after each apply the guest reports (`appliedAt`) and each
 * change of status (a restart), and on demand.
 */
export function EffectiveConfiguration({
  projectId,
  instanceId,
  status,
  appliedAt,
  canWrite,
}: {
  projectId: string;
  instanceId: string;
  /** The instance's DisplayStatus. */
  status: string;
  appliedAt: string | null;
  canWrite: boolean;
}) {
  const trpc = useTRPC();
  const isRunning = RUNNING.includes(status);
  const effective = useQuery({
    ...trpc.configuration.effective.queryOptions({ projectId, instanceId }),
    enabled: isRunning,
    retry: false,
  });
  const { refetch } = effective;
  // After an apply or a restart, read again (not on the first render: the query just ran).
  const readAfter = `${appliedAt ?? ''}|${status}`;
  const lastReadAfter = useRef(readAfter);
  useEffect(() => {
    if (lastReadAfter.current === readAfter) return;
    lastReadAfter.current = readAfter;
    if (isRunning) void refetch();
  }, [readAfter, isRunning, refetch]);

  const [filter, setFilter] = useState('');
  const [isSetOnly, setIsSetOnly] = useState(false);
  const parameters = effective.data;
  const shown = useMemo(
    () => filterParameters(parameters ?? [], filter, isSetOnly),
    [parameters, filter, isSetOnly],
  );
  const pendingCount = (parameters ?? []).filter((parameter) => parameter.isRestartPending).length;

  return (
    <Card>
      <CardHeader>
        <CardTitle className="flex items-center justify-between gap-2">
          Effective configuration
          <Button
            variant="ghost"
            size="sm"
            disabled={!isRunning}
            isLoading={effective.isFetching}
            onClick={() => void refetch()}
          >
            <RefreshCw aria-hidden="true" />
            Refresh
          </Button>
        </CardTitle>
        <CardDescription>
          Every value in force on the server and where it comes from: the server&apos;s default, the
          flavor (sized from its memory and vCPUs), Coffer&apos;s own choice, or the configuration
          group. &ldquo;Restart pending&rdquo; marks a value changed since the last restart: it
          takes effect when the instance restarts.
        </CardDescription>
      </CardHeader>
      <CardContent className="space-y-4">
        {!isRunning ? (
          <p className="text-sm text-zinc-500">Shown while the database server is running.</p>
        ) : effective.error ? (
          <FormError message={describeError(effective.error).message} />
        ) : !parameters ? (
          <p className="text-sm text-zinc-500">Asking the instance…</p>
        ) : (
          <>
            <div className="flex flex-wrap items-end gap-4">
              <TextField
                label="Filter parameters"
                className="min-w-64 flex-1"
                placeholder="e.g. innodb or max_conn"
                value={filter}
                onValueChange={setFilter}
              />
              <Checkbox checked={isSetOnly} onCheckedChange={setIsSetOnly} className="pb-2">
                Only parameters not at the server&apos;s default
              </Checkbox>
            </div>
            <p className="text-xs text-zinc-500" data-testid="effective-count">
              {shown.length} of {parameters.length} parameters
              {pendingCount > 0 ? ` · ${pendingCount} waiting for a restart` : ''}
            </p>
            <div className="max-h-[32rem] overflow-y-auto rounded border border-zinc-200">
              <DataTable
                label="Effective configuration"
                columns={['Parameter', 'Value', 'Source']}
                rows={shown}
              >
                {(parameter) => (
                  <TR key={parameter.name} data-parameter={parameter.name}>
                    <TD className="font-mono text-xs">{parameter.name}</TD>
                    <TD className="max-w-64 break-all font-mono text-xs">
                      {parameter.value ?? <span className="text-zinc-400">(none)</span>}
                    </TD>
                    <TD className="space-x-1.5 whitespace-nowrap">
                      <Badge tone={SOURCE_TONES[parameter.source]}>
                        {SOURCE_TEXT[parameter.source]}
                      </Badge>
                      {parameter.isRestartPending ? (
                        <Badge tone="warning">restart pending</Badge>
                      ) : null}
                    </TD>
                  </TR>
                )}
              </DataTable>
            </div>
            {canWrite ? <GroupFromInstance projectId={projectId} instanceId={instanceId} /> : null}
          </>
        )}
      </CardContent>
    </Card>
  );
}

/** A new group of the values in force that are not the server's defaults nor Coffer's own. */
function GroupFromInstance({ projectId, instanceId }: { projectId: string; instanceId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const create = useMutation(
    trpc.configuration.createFromInstance.mutationOptions({
      onSuccess: async () => {
        setName('');
        await queryClient.invalidateQueries({ queryKey: trpc.configuration.list.queryKey() });
      },
    }),
  );
  const error = create.error ? describeError(create.error) : null;
  return (
    <form
      noValidate
      className="space-y-2 border-t border-zinc-100 pt-4"
      onSubmit={(event) => {
        event.preventDefault();
        create.mutate({ projectId, instanceId, name: name.trim() });
      }}
    >
      <div className="flex flex-wrap items-end gap-2">
        <TextField
          label="New group from this instance"
          className="min-w-64 flex-1"
          error={error?.fieldErrors.name?.[0] ?? null}
          value={name}
          onValueChange={(value) => {
            setName(value);
            create.reset();
          }}
        />
        <Button
          type="submit"
          variant="secondary"
          disabled={!name.trim()}
          isLoading={create.isPending}
        >
          Create group
        </Button>
      </div>
      <p className="text-xs text-zinc-500">
        The group&apos;s values and those changed from the server&apos;s default (not the
        flavor&apos;s or Coffer&apos;s own), as a new group of this project.
      </p>
      {error && !error.fieldErrors.name ? <FormError message={error.message} /> : null}
      {create.data ? (
        <p role="status" className="text-sm text-zinc-700">
          Created{' '}
          <Link
            href={`/p/${projectId}/configuration/${create.data.id}`}
            className="text-accent-700 hover:underline"
          >
            {create.data.name}
          </Link>{' '}
          with {Object.keys(create.data.values).length} values.
        </p>
      ) : null}
    </form>
  );
}
