'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';

import { ACTIONS_COLUMN, QueryTable, RowAction } from '~/components/ui/data-table';
import { TextField } from '~/components/ui/field';
import { FormDialog } from '~/components/ui/form-dialog';
import { PageHeader } from '~/components/ui/page';

import { TD, TR } from '~/components/ui/table';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';

type QuotaName = 'instances' | 'volumeGb' | 'backups';
interface QuotaUsage {
  inUse: number;
  limit: number;
  isOverride: boolean;
}
type Quotas = Record<QuotaName, QuotaUsage>;

const QUOTA_LABELS: Record<QuotaName, string> = {
  instances: 'Instances',
  volumeGb: 'Volume (GB)',
  backups: 'Backups',
};
const QUOTA_NAMES: QuotaName[] = ['instances', 'volumeGb', 'backups'];

function UsageCell({ usage }: { usage: QuotaUsage }) {
  const limit = usage.limit < 0 ? '∞' : String(usage.limit);
  return (
    <span className="tabular-nums">
      {usage.inUse} / {limit}
      {usage.isOverride ? <span className="ml-1 text-xs text-accent-700">(set)</span> : null}
    </span>
  );
}

export function AdminProjects() {
  const trpc = useTRPC();
  const projects = useQuery(trpc.admin.projects.queryOptions());
  const [editing, setEditing] = useState<{ id: string; name: string; quotas: Quotas } | null>(null);
  return (
    <>
      <PageHeader
        title="Projects and quotas"
        description="Every project with what it uses of its limits. “(set)” marks an operator’s override of the default."
      />
      <QueryTable
        query={projects}
        errorLabel="Could not load projects"
        label="Projects"
        columns={[
          'Project',
          'Members',
          ...QUOTA_NAMES.map((name) => QUOTA_LABELS[name]),
          ACTIONS_COLUMN,
        ]}
      >
        {(project) => (
          <TR key={project.id}>
            <TD className="font-medium text-zinc-900">{project.name}</TD>
            <TD className="tabular-nums">{project.memberCount}</TD>
            {QUOTA_NAMES.map((name) => (
              <TD key={name}>
                <UsageCell usage={project.quotas[name]} />
              </TD>
            ))}
            <TD className="text-right">
              <RowAction
                onClick={() =>
                  setEditing({ id: project.id, name: project.name, quotas: project.quotas })
                }
              >
                Edit quotas
              </RowAction>
            </TD>
          </TR>
        )}
      </QueryTable>
      {editing ? <QuotaDialog project={editing} onClose={() => setEditing(null)} /> : null}
    </>
  );
}

/** Blank: the default; -1: unlimited; otherwise the limit. */
function QuotaDialog({
  project,
  onClose,
}: {
  project: { id: string; name: string; quotas: Quotas };
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [values, setValues] = useState<Record<QuotaName, string>>(
    () =>
      Object.fromEntries(
        QUOTA_NAMES.map((name) => [
          name,
          project.quotas[name].isOverride ? String(project.quotas[name].limit) : '',
        ]),
      ) as Record<QuotaName, string>,
  );
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<QuotaName, string>>>({});
  const setQuota = useMutation(trpc.admin.setQuota.mutationOptions());

  async function save() {
    const errors: Partial<Record<QuotaName, string>> = {};
    const changes: { resource: QuotaName; hardLimit: number | null }[] = [];
    for (const name of QUOTA_NAMES) {
      const raw = values[name].trim();
      const hardLimit = raw === '' ? null : Number(raw);
      if (hardLimit !== null && (!Number.isInteger(hardLimit) || hardLimit < -1)) {
        errors[name] = 'A whole number of at least 0, or -1 for unlimited';
        continue;
      }
      const before = project.quotas[name];
      const isSame =
        hardLimit === null ? !before.isOverride : before.isOverride && before.limit === hardLimit;
      if (!isSame) changes.push({ resource: name, hardLimit });
    }
    setFieldErrors(errors);
    if (Object.keys(errors).length > 0) return;
    try {
      for (const change of changes)
        await setQuota.mutateAsync({ projectId: project.id, ...change });
    } catch {
      return; // shown from setQuota.error
    } finally {
      await queryClient.invalidateQueries({ queryKey: trpc.admin.projects.queryKey() });
    }
    onClose();
  }

  return (
    <FormDialog
      onClose={onClose}
      title={`Quotas of ${project.name}`}
      description="Leave a field blank for the default; -1 means unlimited."
      noValidate
      onSubmit={() => void save()}
      error={setQuota.error ? describeError(setQuota.error).message : null}
      submitLabel="Save quotas"
      isPending={setQuota.isPending}
    >
      {QUOTA_NAMES.map((name) => (
        <TextField
          key={name}
          label={QUOTA_LABELS[name]}
          error={fieldErrors[name]}
          hint={`In use: ${project.quotas[name].inUse}${project.quotas[name].isOverride ? '' : ` · default ${project.quotas[name].limit}`}`}
          inputMode="numeric"
          value={values[name]}
          placeholder="default"
          onValueChange={(value) => setValues((current) => ({ ...current, [name]: value }))}
        />
      ))}
    </FormDialog>
  );
}
