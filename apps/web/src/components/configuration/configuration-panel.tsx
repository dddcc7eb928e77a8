'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';

import { type InstancePanelProps } from '~/components/instance/instance-panel';
import { Badge } from '~/components/ui/badge';
import { Button } from '~/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { Field, FormError, Input, Select } from '~/components/ui/field';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';
import { EffectiveConfiguration } from './effective-configuration';
import { textOfValues, valuesOfText } from './values-text';

/**
 * An instance's configuration group (issue 15): which group it runs with, attach another or
 * detach, a new group from `name = value` lines, the guest's last report (applied at once,
 * waiting for a restart, refused), and the effective configuration (every value in force).
 */
export function ConfigurationPanel({
  projectId,
  instanceId,
  status,
  canWrite,
}: InstancePanelProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // Live: the guest's report and the status arrive with the instance's change events.
  const current = useQuery(trpc.configuration.instance.queryOptions({ projectId, instanceId }));
  const groups = useQuery(trpc.configuration.list.queryOptions({ projectId }));
  const [chosen, setChosen] = useState('');
  const [name, setName] = useState('');
  const [text, setText] = useState('');
  const refresh = async () => {
    await queryClient.invalidateQueries({ queryKey: trpc.configuration.pathKey() });
    await queryClient.invalidateQueries({
      queryKey: trpc.instance.get.queryKey({ projectId, instanceId }),
    });
  };
  const attach = useMutation(trpc.configuration.attach.mutationOptions({ onSuccess: refresh }));
  const detach = useMutation(trpc.configuration.detach.mutationOptions({ onSuccess: refresh }));
  const create = useMutation(
    trpc.configuration.create.mutationOptions({
      onSuccess: async (group) => {
        setName('');
        setText('');
        attach.mutate({ projectId, instanceId, groupId: group.id });
        await refresh();
      },
    }),
  );
  const data = current.data;
  const last = data?.lastApply;
  const failure =
    [create.error, attach.error, detach.error]
      .filter((error) => error !== null)
      .map((error) => {
        // The API names each refused parameter and its rule: show them, not a summary.
        const { message, fieldErrors } = describeError(error);
        const named = Object.values(fieldErrors).flat();
        return named.length > 0 ? named.join('; ') : message;
      })[0] ?? null;
  const versionId = data?.datastoreVersionId;

  return (
    <div className="space-y-6">
      <div className="max-w-2xl space-y-6">
        <Card>
          <CardHeader>
            <CardTitle className="flex items-center gap-2">
              Configuration group
              {data ? (
                <Badge tone={data.group ? 'success' : 'neutral'}>
                  {data.group ? data.group.name : 'None'}
                </Badge>
              ) : null}
              {data?.group ? (
                <Link
                  href={`/p/${projectId}/configuration/${data.group.id}`}
                  className="ml-auto text-sm font-normal text-accent-700 hover:underline"
                >
                  Edit group
                </Link>
              ) : null}
            </CardTitle>
            <CardDescription>
              Server settings from a group of this project: dynamic values apply at once, the others
              at the next restart (the instance shows RESTART_REQUIRED until then).
            </CardDescription>
          </CardHeader>
          <CardContent className="space-y-4">
            {data?.group ? (
              <pre className="rounded bg-zinc-50 p-3 text-xs" data-testid="group-values">
                {textOfValues(data.group.values) || '(no values)'}
              </pre>
            ) : null}
            {last ? (
              <dl className="space-y-1 text-sm" data-testid="configuration-report">
                <div>
                  <dt className="inline font-medium">Applied at once: </dt>
                  <dd className="inline">{last.applied.join(', ') || 'none'}</dd>
                </div>
                {status === 'RESTART_REQUIRED' ? (
                  <div>
                    <dt className="inline font-medium">Waiting for a restart: </dt>
                    <dd className="inline">{last.pendingRestart.join(', ') || 'none'}</dd>
                  </div>
                ) : null}
                {last.failed.length > 0 ? (
                  <div>
                    <dt className="inline font-medium text-red-700">Refused by the server: </dt>
                    <dd className="inline">
                      {last.failed.map((failed) => `${failed.name} (${failed.reason})`).join('; ')}
                    </dd>
                  </div>
                ) : null}
              </dl>
            ) : null}
            {canWrite ? (
              <div className="flex flex-wrap items-end gap-2">
                <Field label="Group" className="min-w-48">
                  <Select value={chosen} onChange={(event) => setChosen(event.target.value)}>
                    <option value="">Choose a group…</option>
                    {(groups.data ?? [])
                      .filter((group) => !versionId || group.datastoreVersionId === versionId)
                      .map((group) => (
                        <option key={group.id} value={group.id}>
                          {group.name}
                        </option>
                      ))}
                  </Select>
                </Field>
                <Button
                  variant="secondary"
                  disabled={!chosen}
                  isLoading={attach.isPending}
                  onClick={() => attach.mutate({ projectId, instanceId, groupId: chosen })}
                >
                  Attach
                </Button>
                {data?.group ? (
                  <Button
                    variant="secondary"
                    isLoading={detach.isPending}
                    onClick={() => detach.mutate({ projectId, instanceId })}
                  >
                    Detach
                  </Button>
                ) : null}
              </div>
            ) : null}
          </CardContent>
        </Card>

        {canWrite && versionId ? (
          <Card>
            <CardHeader>
              <CardTitle>New group</CardTitle>
              <CardDescription>
                One <code>name = value</code> per line, e.g. <code>max_connections = 200</code>.
                Each value is checked against this version&apos;s parameters.
              </CardDescription>
            </CardHeader>
            <CardContent className="space-y-4">
              <Field label="Group name">
                <Input value={name} onChange={(event) => setName(event.target.value)} />
              </Field>
              <Field label="Values">
                <textarea
                  className="min-h-28 w-full rounded border border-zinc-300 p-2 font-mono text-sm"
                  value={text}
                  onChange={(event) => setText(event.target.value)}
                />
              </Field>
              <Button
                disabled={!name}
                isLoading={create.isPending}
                onClick={() =>
                  create.mutate({
                    projectId,
                    name,
                    datastoreVersionId: versionId,
                    values: valuesOfText(text),
                  })
                }
              >
                Create and attach
              </Button>
            </CardContent>
          </Card>
        ) : null}
        <FormError message={failure} />
      </div>
      <EffectiveConfiguration
        projectId={projectId}
        instanceId={instanceId}
        status={status}
        appliedAt={last?.at ?? null}
        canWrite={canWrite}
      />
    </div>
  );
}
