'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { KeyRound } from 'lucide-react';
import { useState } from 'react';

import { Badge } from '~/components/ui/badge';
import { Button } from '~/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { CopyButton } from '~/components/ui/copy-button';
import { ConfirmDialog } from '~/components/ui/dialog';
import { Field, FormError, Input, Select } from '~/components/ui/field';
import { EmptyState } from '~/components/ui/page';
import { PanelState } from '~/components/ui/panel-state';
import { Table, TBody, TD, TH, THead, TR } from '~/components/ui/table';
import {
  API_TOKEN_EXPIRY_CHOICES,
  API_TOKEN_SCOPE_LABELS,
  createApiTokenInputSchema,
  type ApiTokenScopeName,
} from '~/lib/api-token-schemas';
import { describeError } from '~/lib/trpc-errors';
import { formatDateTime } from '~/lib/utils';
import { useTRPC } from '~/trpc/react';

const STATUS_TONE = { ACTIVE: 'success', EXPIRED: 'neutral', REVOKED: 'danger' } as const;
const STATUS_LABEL = { ACTIVE: 'Active', EXPIRED: 'Expired', REVOKED: 'Revoked' } as const;

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
        <NewTokenNotice name={created.name} token={created.token} onDone={() => setCreated(null)} />
      ) : null}

      <PanelState
        variant="page"
        query={tokens}
        errorLabel="Could not load the tokens"
        empty={
          <EmptyState
            icon={<KeyRound />}
            title="No API tokens yet"
            description="A token lets a script call the Coffer API as you, inside this project only."
          />
        }
      >
        {(list) => (
          <Card>
            <Table aria-label="API tokens">
              <THead>
                <tr>
                  <TH>Name</TH>
                  <TH>Token</TH>
                  <TH>Scope</TH>
                  {isOwner ? <TH>Owner</TH> : null}
                  <TH>Expires</TH>
                  <TH>Last used</TH>
                  <TH>Status</TH>
                  <TH className="text-right">Actions</TH>
                </tr>
              </THead>
              <TBody>
                {list.map((token) => (
                  <TR key={token.id}>
                    <TD className="font-medium text-zinc-900">{token.name}</TD>
                    <TD className="font-mono text-xs">{token.prefix}</TD>
                    <TD>{API_TOKEN_SCOPE_LABELS[token.scope]}</TD>
                    {isOwner ? <TD>{token.user.email}</TD> : null}
                    <TD>{formatDateTime(token.expiresAt)}</TD>
                    <TD>{token.lastUsedAt ? formatDateTime(token.lastUsedAt) : 'never'}</TD>
                    <TD>
                      <Badge tone={STATUS_TONE[token.status]}>{STATUS_LABEL[token.status]}</Badge>
                    </TD>
                    <TD className="text-right">
                      {token.status === 'ACTIVE' ? (
                        <Button
                          variant="ghost"
                          size="sm"
                          onClick={() => setRevoking({ id: token.id, name: token.name })}
                        >
                          Revoke
                        </Button>
                      ) : null}
                    </TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          </Card>
        )}
      </PanelState>

      <ConfirmDialog
        open={revoking !== null}
        onClose={() => {
          setRevoking(null);
          revoke.reset();
        }}
        title={`Revoke ${revoking?.name ?? ''}?`}
        description="Scripts using this token stop working at once. This cannot be undone."
        confirmLabel="Revoke token"
        isPending={revoke.isPending}
        error={revoke.error ? describeError(revoke.error).message : null}
        onConfirm={() =>
          revoking &&
          revoke.mutate({ projectId, tokenId: revoking.id }, { onSuccess: () => setRevoking(null) })
        }
      />
    </div>
  );
}

function NewTokenNotice({
  name,
  token,
  onDone,
}: {
  name: string;
  token: string;
  onDone: () => void;
}) {
  return (
    <section
      aria-label="New API token"
      className="rounded-lg border border-emerald-200 bg-emerald-50 p-4"
    >
      <h2 className="text-sm font-semibold text-emerald-900">Token “{name}” created</h2>
      <p className="mt-1 text-sm text-emerald-800">
        Copy it now: it is shown only once, and Coffer keeps only a hash of it.
      </p>
      <div className="mt-3 flex flex-wrap items-center gap-2">
        <code
          aria-label="New token"
          className="min-w-0 flex-1 break-all rounded-md border border-emerald-200 bg-white px-3 py-2 font-mono text-xs text-zinc-900"
        >
          {token}
        </code>
        <CopyButton value={token} label="Copy token" />
        <Button variant="ghost" size="sm" onClick={onDone}>
          Done
        </Button>
      </div>
    </section>
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
    <Card>
      <CardHeader>
        <CardTitle>Create an API token</CardTitle>
        <CardDescription>
          Scripts send it as <code className="font-mono text-xs">Authorization: Bearer …</code>. It
          acts as you, in this project only, until it expires or is revoked.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form
          noValidate
          className="flex flex-wrap items-start gap-3"
          onSubmit={(event) => {
            event.preventDefault();
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
        >
          <Field label="Token name" error={fieldErrors.name?.[0]} className="min-w-56 flex-1">
            <Input
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="deploy script"
              maxLength={64}
            />
          </Field>
          <Field label="Scope" error={fieldErrors.scope?.[0]} className="w-44">
            <Select value={scope} onChange={(e) => setScope(e.target.value as ApiTokenScopeName)}>
              <option value="READ_ONLY">{API_TOKEN_SCOPE_LABELS.READ_ONLY}</option>
              <option value="READ_WRITE" disabled={isViewer}>
                {API_TOKEN_SCOPE_LABELS.READ_WRITE}
              </option>
            </Select>
          </Field>
          <Field label="Expires in" error={fieldErrors.expiresInDays?.[0]} className="w-36">
            <Select
              value={expiresInDays}
              onChange={(e) => setExpiresInDays(Number(e.target.value))}
            >
              {API_TOKEN_EXPIRY_CHOICES.map((days) => (
                <option key={days} value={days}>
                  {days} days
                </option>
              ))}
            </Select>
          </Field>
          <Button type="submit" className="mt-6" isLoading={create.isPending}>
            Create token
          </Button>
        </form>
        {create.error && Object.keys(fieldErrors).length === 0 ? (
          <div className="mt-3">
            <FormError message={describeError(create.error).message} />
          </div>
        ) : null}
      </CardContent>
    </Card>
  );
}
