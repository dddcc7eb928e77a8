'use client';

import { datastoreDisplayName } from '@coffer/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ArrowLeft } from 'lucide-react';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';

import { ConfigurationGroupForm } from '~/components/configuration/group-form';
import { valuesOfText } from '~/components/configuration/values-text';
import { Field, Select } from '~/components/ui/field';
import { PageHeader } from '~/components/ui/page';
import { useTRPC } from '~/trpc/react';

/** A new configuration group of the project: name, description, datastore version, values. */
export function NewConfigurationGroup({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const versions = useQuery(trpc.catalog.datastoreVersions.queryOptions());
  const [form, setForm] = useState({ name: '', description: '', valuesText: '' });
  const [chosenVersionId, setChosenVersionId] = useState('');
  const versionId = chosenVersionId || versions.data?.[0]?.id || '';
  const create = useMutation(
    trpc.configuration.create.mutationOptions({
      onSuccess: async (group) => {
        await queryClient.invalidateQueries({ queryKey: trpc.configuration.pathKey() });
        router.push(`/p/${projectId}/configuration/${group.id}`);
      },
    }),
  );

  return (
    <div className="max-w-2xl">
      <Link
        href={`/p/${projectId}/configuration`}
        className="mb-3 inline-flex items-center gap-1 text-sm text-zinc-500 hover:text-zinc-800"
      >
        <ArrowLeft aria-hidden="true" className="size-4" />
        Configuration groups
      </Link>
      <PageHeader title="Create configuration group" />
      <ConfigurationGroupForm
        title="Group"
        description="Each value is checked against the chosen version's parameters."
        submitLabel="Create group"
        form={form}
        onFormChange={setForm}
        mutation={create}
        onSubmit={() =>
          create.mutate({
            projectId,
            name: form.name.trim(),
            ...(form.description.trim() ? { description: form.description.trim() } : {}),
            datastoreVersionId: versionId,
            values: valuesOfText(form.valuesText),
          })
        }
        extraFields={
          <Field label="Datastore version">
            <Select value={versionId} onChange={(event) => setChosenVersionId(event.target.value)}>
              {(versions.data ?? []).map((version) => (
                <option key={version.id} value={version.id}>
                  {datastoreDisplayName(version.datastore.name)} {version.version}
                </option>
              ))}
            </Select>
          </Field>
        }
      />
    </div>
  );
}
