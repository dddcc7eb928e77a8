'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { KeyRound } from 'lucide-react';
import { useState } from 'react';

import { Badge } from '~/components/ui/badge';
import { SecretNotice } from '~/components/instance/secret-notice';

import { CardForm } from '~/components/ui/card-form';
import { ACTIONS_COLUMN, QueryTable, RowAction } from '~/components/ui/data-table';
import { Field, Select, TextField } from '~/components/ui/field';
import { firstOf } from '~/components/ui/form-errors';
import { MutationConfirmDialog } from '~/components/ui/mutation-confirm-dialog';
import { EmptyState } from '~/components/ui/page';

import { TD, TR } from '~/components/ui/table';
import { DateTime } from '~/components/ui/date-time';
import {
  API_TOKEN_EXPIRY_CHOICES,
  API_TOKEN_SCOPE_LABELS,
  createApiTokenInputSchema,
  type ApiTokenScopeName,
} from '~/lib/api-token-schemas';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';

const STATUS_TONE = { ACTIVE: 'success', EXPIRED: 'neutral', REVOKED: 'danger' } as const;
const STATUS_LABEL = { ACTIVE: 'Active', EXPIRED: 'Expired', REVOKED: 'Revoked' } as const;

const NO_TOKENS = (
  <EmptyState
    icon={<KeyRound />}
    title="No API tokens yet"
    description="A token lets a script call the Coffer API as you, inside this project only."
  />
);

export function ApiTokens({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const project = useQuery(trpc.project.get.queryOptions({ projectId }));
  const tokens = useQuery(trpc.apiToken.list.queryOptions({ projectId }));
  const invalidate = () =>
    queryClient.invalidateQueries({ queryKey: trpc.apiToken.list.queryKey({ projectId }) });
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [revoking, setRevoking] = useState<{ id: string; name: string } | null>(null);
  const revoke = useMutation(trpc.apiToken.revoke.mutationOptions({ onSuccess: invalidate }));
  const isOwner = project.data?.role === 'OWNER';

  return (
    <div className="space-y-6">
      <CreateTokenForm
        projectId={projectId}
        isViewer={project.data?.role === 'VIEWER'}
        onCreated={(result) => {
          setCreated(result);
          void invalidate();
        }}
      />
      {created ? (
        <SecretNotice
          title={`Token “${created.name}” created`}
          regionLabel="New API token"
          Heading="h2"
          message="Copy it now: it is shown only once, and Coffer keeps only a hash of it."
          label="New token"
          secret={created.token}
          secretClassName="text-xs"
          copyLabel="Copy token"
          onDone={() => setCreated(null)}
        />
      ) : null}

      <QueryTable
        query={tokens}
        errorLabel="Could not load the tokens"
        empty={NO_TOKENS}
        label="API tokens"
        columns={[
          'Name',
          'Token',
          'Scope',
          isOwner && 'Owner',
          'Expires',
          'Last used',
          'Status',
          ACTIONS_COLUMN,
        ]}
      >
        {(token) => (
          <TR key={token.id}>
            <TD className="font-medium text-zinc-900">{token.name}</TD>
            <TD className="font-mono text-xs">{token.prefix}</TD>
            <TD>{API_TOKEN_SCOPE_LABELS[token.scope]}</TD>
            {isOwner ? <TD>{token.user.email}</TD> : null}
            <TD>
              <DateTime value={token.expiresAt} />
            </TD>
            <TD>{token.lastUsedAt ? <DateTime value={token.lastUsedAt} /> : 'never'}</TD>
            <TD>
              <Badge tone={STATUS_TONE[token.status]}>{STATUS_LABEL[token.status]}</Badge>
            </TD>
            <TD className="text-right">
              {token.status === 'ACTIVE' ? (
                <RowAction onClick={() => setRevoking({ id: token.id, name: token.name })}>
                  Revoke
                </RowAction>
              ) : null}
            </TD>
          </TR>
        )}
      </QueryTable>

      <MutationConfirmDialog
        target={revoking}
        onClose={() => setRevoking(null)}
        mutation={revoke}
        variables={(target) => ({ projectId, tokenId: target.id })}
        title={(target) => `Revoke ${target.name}?`}
        description="Scripts using this token stop working at once. This cannot be undone."
        confirmLabel="Revoke token"
      />
    </div>
  );
}

function CreateTokenForm({
  projectId,
  isViewer,
  onCreated,
}: {
  projectId: string;
  isViewer: boolean;
  onCreated: (created: { name: string; token: string }) => void;
}) {
  const trpc = useTRPC();
  const [name, setName] = useState('');
  const [scope, setScope] = useState<ApiTokenScopeName>('READ_ONLY');
  const [expiresInDays, setExpiresInDays] = useState<number>(30);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const create = useMutation(
    trpc.apiToken.create.mutationOptions({
      onSuccess: (result) => {
        setName('');
        setFieldErrors({});
        onCreated({ name: result.apiToken.name, token: result.token });
      },
      onError: (error) => setFieldErrors(describeError(error).fieldErrors),
    }),
  );
  return (
    <CardForm
      layout="inline"
      title="Create an API token"
      description={
        <>
          Scripts send it as <code className="font-mono text-xs">Authorization: Bearer …</code>. It
          acts as you, in this project only, until it expires or is revoked.
        </>
      }
      onSubmit={() => {
        const parsed = createApiTokenInputSchema.safeParse({ name, scope, expiresInDays });
        if (!parsed.success) {
          const errors: Record<string, string[]> = {};
          for (const issue of parsed.error.issues)
            (errors[issue.path.join('.')] ??= []).push(issue.message);
          setFieldErrors(errors);
          return;
        }
        create.mutate({ projectId, ...parsed.data });
      }}
      mutation={create}
      fieldErrors={firstOf(fieldErrors)}
      submitLabel="Create token"
    >
      <TextField
        label="Token name"
        error={fieldErrors.name?.[0]}
        className="min-w-56 flex-1"
        value={name}
        onValueChange={setName}
        placeholder="deploy script"
        maxLength={64}
      />
      <Field label="Scope" error={fieldErrors.scope?.[0]} className="w-44">
        <Select value={scope} onChange={(e) => setScope(e.target.value as ApiTokenScopeName)}>
          <option value="READ_ONLY">{API_TOKEN_SCOPE_LABELS.READ_ONLY}</option>
          <option value="READ_WRITE" disabled={isViewer}>
            {API_TOKEN_SCOPE_LABELS.READ_WRITE}
          </option>
        </Select>
      </Field>
      <Field label="Expires in" error={fieldErrors.expiresInDays?.[0]} className="w-36">
        <Select value={expiresInDays} onChange={(e) => setExpiresInDays(Number(e.target.value))}>
          {API_TOKEN_EXPIRY_CHOICES.map((days) => (
            <option key={days} value={days}>
              {days} days
            </option>
          ))}
        </Select>
      </Field>
    </CardForm>
  );
}
