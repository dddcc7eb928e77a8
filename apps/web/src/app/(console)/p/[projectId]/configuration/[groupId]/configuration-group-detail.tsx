'use client';

import { datastoreDisplayName } from '@coffer/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ArrowLeft, Trash } from 'lucide-react';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';

import { ApplyResult } from '~/components/configuration/apply-result';
import { type ConfigurationGroupView as Group } from '~/components/configuration/types';
import { ConfigurationGroupForm } from '~/components/configuration/group-form';
import { textOfValues, valuesOfText } from '~/components/configuration/values-text';
import { StatusBadge } from '~/components/instance/status-badge';
import { Button } from '~/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { DataTable } from '~/components/ui/data-table';
import { MutationConfirmDialog } from '~/components/ui/mutation-confirm-dialog';
import { PageHeader } from '~/components/ui/page';
import { TD, TR } from '~/components/ui/table';
import { useTRPC } from '~/trpc/react';

/**
 * One configuration group: edit its name, description and values (an edit reaches every
 * attached instance), what each attached instance reported of the values, and delete (the
 * API refuses while an instance uses it; the dialog says which).
 */
export function ConfigurationGroupDetail({
  projectId,
  groupId,
}: {
  projectId: string;
  groupId: string;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const group = useQuery(trpc.configuration.get.queryOptions({ projectId, id: groupId }));
  const project = useQuery(trpc.project.get.queryOptions({ projectId }));
  const canWrite = !!project.data && project.data.role !== 'VIEWER';
  const [isDeleteOpen, setIsDeleteOpen] = useState(false);
  const remove = useMutation(
    trpc.configuration.delete.mutationOptions({
      onSuccess: () => router.push(`/p/${projectId}/configuration`),
    }),
  );
  const back = (
    <Link
      href={`/p/${projectId}/configuration`}
      className="mb-3 inline-flex items-center gap-1 text-sm text-zinc-500 hover:text-zinc-800"
    >
      <ArrowLeft aria-hidden="true" className="size-4" />
      Configuration groups
    </Link>
  );

  if (group.error) {
    return (
      <div className="space-y-4">
        {back}
        <p role="alert" className="text-sm text-red-600">
          {group.error.data?.code === 'NOT_FOUND'
            ? 'This configuration group does not exist or was deleted.'
            : group.error.message}
        </p>
      </div>
    );
  }
  const data = group.data;
  if (!data) return <p className="text-sm text-zinc-500">Loading…</p>;

  return (
    <div className="space-y-6">
      <div>
        {back}
        <PageHeader
          title={data.name}
          description={
            <>
              {datastoreDisplayName(data.datastore)} {data.datastoreVersion}
              {data.description ? ` · ${data.description}` : ''}
            </>
          }
          actions={
            canWrite ? (
              <Button variant="secondary" onClick={() => setIsDeleteOpen(true)}>
                <Trash aria-hidden="true" />
                Delete group
              </Button>
            ) : null
          }
        />
      </div>
      <div className="grid gap-6 lg:grid-cols-2">
        {canWrite ? (
          <EditGroup key={data.id} projectId={projectId} group={data} />
        ) : (
          <Card>
            <CardHeader>
              <CardTitle>Values</CardTitle>
            </CardHeader>
            <CardContent>
              <pre className="rounded bg-zinc-50 p-3 text-xs">
                {textOfValues(data.values) || '(no values)'}
              </pre>
            </CardContent>
          </Card>
        )}
        <AttachedInstances projectId={projectId} group={data} />
      </div>
      <MutationConfirmDialog
        target={isDeleteOpen ? data : null}
        onClose={() => setIsDeleteOpen(false)}
        mutation={remove}
        variables={(target) => ({ projectId, id: target.id })}
        title={(target) => `Delete configuration group ${target.name}?`}
        description="The group and its values go. A group used by an instance cannot be deleted: detach it from the instance's Configuration tab first."
        confirmLabel="Delete group"
      />
    </div>
  );
}

/** The edit form, filled from the group as it was when opened (and as saved after each save). */
function EditGroup({ projectId, group }: { projectId: string; group: Group }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [form, setForm] = useState({
    name: group.name,
    description: group.description,
    valuesText: textOfValues(group.values),
  });
  const [savedAt, setSavedAt] = useState<Date | null>(null);
  const update = useMutation(
    trpc.configuration.update.mutationOptions({
      onSuccess: async (saved) => {
        setForm({
          name: saved.name,
          description: saved.description,
          valuesText: textOfValues(saved.values),
        });
        setSavedAt(saved.updatedAt);
        await queryClient.invalidateQueries({ queryKey: trpc.configuration.pathKey() });
      },
    }),
  );
  return (
    <ConfigurationGroupForm
      title="Values"
      description={
        savedAt ? (
          <span role="status">
            Saved. {group.instances.length > 0 ? 'Applying to the attached instances…' : ''}
          </span>
        ) : (
          "Each value is checked against the version's parameters. Saving applies the values to every attached instance."
        )
      }
      submitLabel="Save group"
      form={form}
      onFormChange={(next) => {
        setForm(next);
        setSavedAt(null);
      }}
      mutation={update}
      onSubmit={() =>
        update.mutate({
          projectId,
          id: group.id,
          name: form.name.trim(),
          description: form.description.trim(),
          values: valuesOfText(form.valuesText),
        })
      }
    />
  );
}

/** Each instance using the group, its status, and what its guest reported of the values. */
function AttachedInstances({ projectId, group }: { projectId: string; group: Group }) {
  const trpc = useTRPC();
  const instances = useQuery(trpc.instance.list.queryOptions({ projectId }));
  const statusOf = new Map(
    (instances.data ?? []).map((instance) => [instance.id, instance.status]),
  );
  return (
    <Card>
      <CardHeader>
        <CardTitle>Attached instances</CardTitle>
        <CardDescription>
          Attach the group from an instance&apos;s Configuration tab. Each instance reports whether
          its values applied, wait for a restart, or were refused by the server.
        </CardDescription>
      </CardHeader>
      {group.instances.length === 0 ? (
        <CardContent>
          <p className="text-sm text-zinc-500">No instance uses this group.</p>
        </CardContent>
      ) : (
        <DataTable
          label="Attached instances"
          columns={['Instance', 'Status', 'Values']}
          rows={group.instances}
        >
          {(instance) => (
            <TR key={instance.id} data-instance-id={instance.id}>
              <TD>
                <Link
                  href={`/p/${projectId}/instances/${instance.id}`}
                  className="font-medium text-zinc-900 hover:text-accent-700"
                >
                  {instance.name}
                </Link>
              </TD>
              <TD>
                {statusOf.get(instance.id) ? (
                  <StatusBadge status={statusOf.get(instance.id)!} />
                ) : null}
              </TD>
              <TD>
                <InstanceApplyResult
                  projectId={projectId}
                  instanceId={instance.id}
                  status={statusOf.get(instance.id)}
                />
              </TD>
            </TR>
          )}
        </DataTable>
      )}
    </Card>
  );
}

function InstanceApplyResult({
  projectId,
  instanceId,
  status,
}: {
  projectId: string;
  instanceId: string;
  status: Parameters<typeof ApplyResult>[0]['status'];
}) {
  const trpc = useTRPC();
  const current = useQuery(trpc.configuration.instance.queryOptions({ projectId, instanceId }));
  if (current.error) return <span className="text-sm text-red-600">{current.error.message}</span>;
  if (!current.data) return <span className="text-sm text-zinc-500">Loading…</span>;
  return (
    <ApplyResult
      lastApply={current.data.lastApply}
      isApplyPending={current.data.isApplyPending}
      status={status}
    />
  );
}
