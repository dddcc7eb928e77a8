'use client';

import { type DatabaseUserInfo } from '@coffer/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { KeyRound, Pencil, Plus, RotateCw, Trash, Users, X } from 'lucide-react';
import { useState } from 'react';

import { Badge } from '~/components/ui/badge';
import { Button } from '~/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { CopyButton } from '~/components/ui/copy-button';
import { ConfirmDialog, Dialog } from '~/components/ui/dialog';
import { Field, FormError, Input } from '~/components/ui/field';
import { EmptyState } from '~/components/ui/page';
import { Table, TBody, TD, TH, THead, TR } from '~/components/ui/table';
import { createUserInputSchema, updateUserInputSchema } from '~/lib/database-schemas';
import { generatePassword } from '~/lib/passwords';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';
import { InactiveNotice, SecretNotice } from './secret-notice';

type Account = Pick<DatabaseUserInfo, 'name' | 'host'>;

const HOST_HINT = '% (anywhere), localhost, an IPv4 address, a pattern such as 10.0.%, or 10.0.0.0/255.255.0.0';

function accountOf(user: Account): string {
  return `${user.name}@${user.host}`;
}

/** The first message per field of a zod error, by top-level field name. */
function issuesByField(issues: { path: PropertyKey[]; message: string }[]): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of issues) errors[String(issue.path[0] ?? '_')] ??= issue.message;
  return errors;
}

function firstOf(fieldErrors: Record<string, string[]>): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const [key, messages] of Object.entries(fieldErrors)) if (messages[0]) errors[key.split('.')[0]!] ??= messages[0];
  return errors;
}

/**
 * The database users of an instance with their access: create (a generated password shown
 * once), grant and revoke access, change host or password, delete. Root and the guest's own
 * account are never listed.
 */
export function UsersPanel({
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
  const users = useQuery({ ...trpc.databaseUser.list.queryOptions({ projectId, instanceId }), enabled: isActive });
  const databases = useQuery({ ...trpc.database.list.queryOptions({ projectId, instanceId }), enabled: isActive });
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.databaseUser.list.queryKey({ projectId, instanceId }) });

  const remove = useMutation(trpc.databaseUser.delete.mutationOptions({ onSuccess: invalidate }));
  const revoke = useMutation(trpc.databaseUser.revokeAccess.mutationOptions({ onSuccess: invalidate }));
  const [deleting, setDeleting] = useState<Account | null>(null);
  const [revoking, setRevoking] = useState<(Account & { database: string }) | null>(null);
  const [granting, setGranting] = useState<DatabaseUserInfo | null>(null);
  const [editing, setEditing] = useState<Account | null>(null);
  const [created, setCreated] = useState<{ account: string; password: string } | null>(null);

  if (!isActive) return <InactiveNotice status={status} what="Users" />;
  const databaseNames = (databases.data ?? []).map((database) => database.name);

  return (
    <div className="space-y-6">
      {created ? (
        <SecretNotice
          title={`User ${created.account} created`}
          label={`Password of ${created.account}`}
          secret={created.password}
          onDone={() => setCreated(null)}
        />
      ) : null}
      <div className="grid gap-6 lg:grid-cols-3">
        <Card className="lg:col-span-2">
          <CardHeader>
            <CardTitle>Users</CardTitle>
            <CardDescription>Accounts that connect to this server, and the databases each may use.</CardDescription>
          </CardHeader>
          {users.error ? (
            <CardContent>
              <FormError message={describeError(users.error).message} />
            </CardContent>
          ) : users.isPending ? (
            <CardContent>
              <p className="text-sm text-zinc-500">Loading…</p>
            </CardContent>
          ) : users.data.length === 0 ? (
            <CardContent>
              <EmptyState icon={<Users />} title="No users yet" description="Create one and give it access to your databases." className="border-0 py-8" />
            </CardContent>
          ) : (
            <Table aria-label="Users">
              <THead>
                <tr>
                  <TH>User</TH>
                  <TH>Host</TH>
                  <TH>Access</TH>
                  {canWrite ? <TH className="text-right">Actions</TH> : null}
                </tr>
              </THead>
              <TBody>
                {users.data.map((user) => (
                  <TR key={accountOf(user)}>
                    <TD className="font-mono font-medium text-zinc-900">{user.name}</TD>
                    <TD className="font-mono">{user.host}</TD>
                    <TD>
                      <ul aria-label={`Databases of ${accountOf(user)}`} className="flex flex-wrap gap-1.5">
                        {user.databases.length === 0 ? <li className="text-zinc-400">none</li> : null}
                        {user.databases.map((database) => (
                          <li key={database}>
                            <Badge tone="accent" className="font-mono">
                              {database}
                              {canWrite ? (
                                <button
                                  type="button"
                                  aria-label={`Revoke access to ${database} from ${accountOf(user)}`}
                                  className="-mr-1 rounded-full p-0.5 hover:bg-accent-100"
                                  onClick={() => setRevoking({ name: user.name, host: user.host, database })}
                                >
                                  <X className="size-3" aria-hidden="true" />
                                </button>
                              ) : null}
                            </Badge>
                          </li>
                        ))}
                      </ul>
                    </TD>
                    {canWrite ? (
                      <TD className="whitespace-nowrap text-right">
                        <Button variant="ghost" size="sm" aria-label={`Grant access to ${accountOf(user)}`} onClick={() => setGranting(user)}>
                          <Plus aria-hidden="true" />
                          Access
                        </Button>
                        <Button variant="ghost" size="sm" aria-label={`Edit user ${accountOf(user)}`} onClick={() => setEditing(user)}>
                          <Pencil aria-hidden="true" />
                          Edit
                        </Button>
                        <Button variant="ghost" size="sm" aria-label={`Delete user ${accountOf(user)}`} onClick={() => setDeleting(user)}>
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
        </Card>
        {canWrite ? (
          <CreateUserForm
            projectId={projectId}
            instanceId={instanceId}
            databaseNames={databaseNames}
            onCreated={async (account, password) => {
              setCreated({ account, password });
              await invalidate();
            }}
          />
        ) : null}
      </div>

      <ConfirmDialog
        open={deleting !== null}
        onClose={() => {
          setDeleting(null);
          remove.reset();
        }}
        title={`Delete user ${deleting ? accountOf(deleting) : ''}?`}
        description="The account and its access go; new connections with it are refused. This cannot be undone."
        confirmLabel="Delete user"
        isPending={remove.isPending}
        error={remove.error ? describeError(remove.error).message : null}
        onConfirm={() => deleting && remove.mutate({ projectId, instanceId, ...deleting }, { onSuccess: () => setDeleting(null) })}
      />
      <ConfirmDialog
        open={revoking !== null}
        onClose={() => {
          setRevoking(null);
          revoke.reset();
        }}
        title={`Revoke access to ${revoking?.database ?? ''}?`}
        description={revoking ? `${accountOf(revoking)} will no longer be able to use ${revoking.database}.` : ''}
        confirmLabel="Revoke access"
        isPending={revoke.isPending}
        error={revoke.error ? describeError(revoke.error).message : null}
        onConfirm={() => revoking && revoke.mutate({ projectId, instanceId, ...revoking }, { onSuccess: () => setRevoking(null) })}
      />
      {granting ? (
        <GrantAccessDialog
          projectId={projectId}
          instanceId={instanceId}
          user={granting}
          databaseNames={databaseNames}
          onClose={() => setGranting(null)}
          onGranted={invalidate}
        />
      ) : null}
      {editing ? (
        <EditUserDialog
          projectId={projectId}
          instanceId={instanceId}
          user={editing}
          onClose={() => setEditing(null)}
          onChanged={async (account, password) => {
            setEditing(null);
            if (password) setCreated({ account, password });
            await invalidate();
          }}
        />
      ) : null}
    </div>
  );
}

function DatabaseChoices({
  legend,
  names,
  chosen,
  onChange,
  error,
}: {
  legend: string;
  names: string[];
  chosen: string[];
  onChange: (chosen: string[]) => void;
  error?: string;
}) {
  return (
    <fieldset className="space-y-1.5">
      <legend className="text-sm font-medium text-zinc-800">{legend}</legend>
      {names.length === 0 ? <p className="text-sm text-zinc-500">No databases to choose from.</p> : null}
      <div className="max-h-40 space-y-1 overflow-y-auto">
        {names.map((name) => (
          <label key={name} className="flex items-center gap-2 text-sm text-zinc-700">
            <input
              type="checkbox"
              className="size-4 rounded border-zinc-300 accent-accent-600"
              checked={chosen.includes(name)}
              onChange={(e) => onChange(e.target.checked ? [...chosen, name] : chosen.filter((other) => other !== name))}
            />
            <span className="font-mono">{name}</span>
          </label>
        ))}
      </div>
      {error ? (
        <p className="text-sm text-red-600" role="alert">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

function PasswordField({ password, onRegenerate, error }: { password: string; onRegenerate: () => void; error?: string }) {
  return (
    <Field label="Password" error={error} hint="Generated for you. It is shown again once the user is created, then never.">
      <div className="flex gap-2">
        <Input readOnly value={password} className="font-mono" aria-label="Password" />
        <CopyButton value={password} label="Copy password" />
        <Button variant="secondary" size="sm" aria-label="Generate another password" onClick={onRegenerate}>
          <RotateCw aria-hidden="true" />
        </Button>
      </div>
    </Field>
  );
}

function CreateUserForm({
  projectId,
  instanceId,
  databaseNames,
  onCreated,
}: {
  projectId: string;
  instanceId: string;
  databaseNames: string[];
  onCreated: (account: string, password: string) => unknown;
}) {
  const trpc = useTRPC();
  const [name, setName] = useState('');
  const [host, setHost] = useState('%');
  const [password, setPassword] = useState(() => generatePassword());
  const [chosen, setChosen] = useState<string[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const create = useMutation(
    trpc.databaseUser.create.mutationOptions({
      onSuccess: async (user) => {
        const used = password;
        setName('');
        setHost('%');
        setChosen([]);
        setErrors({});
        setPassword(generatePassword());
        await onCreated(accountOf(user), used);
      },
      onError: (error) => setErrors(firstOf(describeError(error).fieldErrors)),
    }),
  );
  const hasFieldErrors = Object.values(errors).some(Boolean);

  return (
    <Card className="h-fit">
      <CardHeader>
        <CardTitle>Create a user</CardTitle>
      </CardHeader>
      <CardContent>
        <form
          noValidate
          className="space-y-4"
          onSubmit={(event) => {
            event.preventDefault();
            const parsed = createUserInputSchema.safeParse({ name, host, password, databases: chosen });
            if (!parsed.success) {
              setErrors(issuesByField(parsed.error.issues));
              return;
            }
            create.mutate({ projectId, instanceId, ...parsed.data });
          }}
        >
          <Field label="User name" error={errors.name} hint="Letters, digits, _ . and -; up to 32 characters.">
            <Input value={name} onChange={(e) => setName(e.target.value)} placeholder="app_user" autoComplete="off" />
          </Field>
          <Field label="Host" error={errors.host} hint={HOST_HINT}>
            <Input value={host} onChange={(e) => setHost(e.target.value)} className="font-mono" autoComplete="off" />
          </Field>
          <PasswordField password={password} onRegenerate={() => setPassword(generatePassword())} error={errors.password} />
          <DatabaseChoices legend="Access to databases" names={databaseNames} chosen={chosen} onChange={setChosen} error={errors.databases} />
          {create.error && !hasFieldErrors ? <FormError message={describeError(create.error).message} /> : null}
          <Button type="submit" isLoading={create.isPending} className="w-full">
            Create user
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}

function GrantAccessDialog({
  projectId,
  instanceId,
  user,
  databaseNames,
  onClose,
  onGranted,
}: {
  projectId: string;
  instanceId: string;
  user: DatabaseUserInfo;
  databaseNames: string[];
  onClose: () => void;
  onGranted: () => unknown;
}) {
  const trpc = useTRPC();
  const [chosen, setChosen] = useState<string[]>([]);
  const grant = useMutation(
    trpc.databaseUser.grantAccess.mutationOptions({
      onSuccess: async () => {
        await onGranted();
        onClose();
      },
    }),
  );
  const available = databaseNames.filter((name) => !user.databases.includes(name));
  const fieldError = grant.error ? Object.values(describeError(grant.error).fieldErrors)[0]?.[0] : undefined;

  return (
    <Dialog open onClose={onClose} title={`Grant access to ${accountOf(user)}`} description="Every privilege on each database chosen.">
      <form
        noValidate
        className="space-y-4"
        onSubmit={(event) => {
          event.preventDefault();
          grant.mutate({ projectId, instanceId, name: user.name, host: user.host, databases: chosen });
        }}
      >
        <DatabaseChoices legend="Databases" names={available} chosen={chosen} onChange={setChosen} error={fieldError} />
        {grant.error && !fieldError ? <FormError message={describeError(grant.error).message} /> : null}
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose} disabled={grant.isPending}>
            Cancel
          </Button>
          <Button type="submit" isLoading={grant.isPending} disabled={chosen.length === 0}>
            Grant access
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function EditUserDialog({
  projectId,
  instanceId,
  user,
  onClose,
  onChanged,
}: {
  projectId: string;
  instanceId: string;
  user: Account;
  onClose: () => void;
  onChanged: (account: string, password: string | null) => unknown;
}) {
  const trpc = useTRPC();
  const [host, setHost] = useState(user.host);
  const [isNewPassword, setIsNewPassword] = useState(false);
  const [password, setPassword] = useState(() => generatePassword());
  const [errors, setErrors] = useState<Record<string, string>>({});
  const update = useMutation(
    trpc.databaseUser.update.mutationOptions({
      onSuccess: (changed) => onChanged(accountOf(changed), isNewPassword ? password : null),
      onError: (error) => setErrors(firstOf(describeError(error).fieldErrors)),
    }),
  );
  const hasFieldErrors = Object.values(errors).some(Boolean);

  return (
    <Dialog open onClose={onClose} title={`Edit user ${accountOf(user)}`} description="Its grants stay with it when the host changes.">
      <form
        noValidate
        className="space-y-4"
        onSubmit={(event) => {
          event.preventDefault();
          const input = {
            name: user.name,
            host: user.host,
            ...(host !== user.host ? { newHost: host } : {}),
            ...(isNewPassword ? { newPassword: password } : {}),
          };
          const parsed = updateUserInputSchema.safeParse(input);
          if (!parsed.success) {
            setErrors(issuesByField(parsed.error.issues));
            return;
          }
          update.mutate({ projectId, instanceId, ...parsed.data });
        }}
      >
        <Field label="Host" error={errors.newHost} hint={HOST_HINT}>
          <Input value={host} onChange={(e) => setHost(e.target.value)} className="font-mono" autoComplete="off" />
        </Field>
        <label className="flex items-center gap-2 text-sm text-zinc-700">
          <input
            type="checkbox"
            className="size-4 rounded border-zinc-300 accent-accent-600"
            checked={isNewPassword}
            onChange={(e) => setIsNewPassword(e.target.checked)}
          />
          <KeyRound className="size-4 text-zinc-400" aria-hidden="true" />
          Set a new password
        </label>
        {isNewPassword ? <PasswordField password={password} onRegenerate={() => setPassword(generatePassword())} error={errors.newPassword} /> : null}
        {update.error && !hasFieldErrors ? <FormError message={describeError(update.error).message} /> : null}
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose} disabled={update.isPending}>
            Cancel
          </Button>
          <Button type="submit" isLoading={update.isPending}>
            Save changes
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
