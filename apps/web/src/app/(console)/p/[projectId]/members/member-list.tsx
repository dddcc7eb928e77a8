'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';

import { Badge } from '~/components/ui/badge';
import { Card } from '~/components/ui/card';
import { CardForm } from '~/components/ui/card-form';
import { ACTIONS_COLUMN, DataTable, RowAction } from '~/components/ui/data-table';
import { Field, FormError, Select, TextField } from '~/components/ui/field';
import { MutationConfirmDialog } from '~/components/ui/mutation-confirm-dialog';
import { PageHeader } from '~/components/ui/page';
import { TD, TR } from '~/components/ui/table';
import { CopyButton } from '~/components/ui/copy-button';
import { DateTime } from '~/components/ui/date-time';
import { emailSchema, PROJECT_ROLES, ROLE_LABELS } from '~/lib/schemas';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';

type Role = (typeof PROJECT_ROLES)[number];

export function MemberList({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const project = useQuery(trpc.project.get.queryOptions({ projectId }));
  const members = useQuery(trpc.project.members.queryOptions({ projectId }));
  const isOwner = project.data?.role === 'OWNER';
  const invalidate = () =>
    queryClient.invalidateQueries({ queryKey: trpc.project.members.queryKey({ projectId }) });

  const changeRole = useMutation(
    trpc.project.changeMemberRole.mutationOptions({ onSuccess: invalidate }),
  );
  const remove = useMutation(trpc.project.removeMember.mutationOptions({ onSuccess: invalidate }));
  const [removing, setRemoving] = useState<{ id: string; email: string } | null>(null);

  return (
    <>
      <PageHeader
        title="Members"
        description="Owners manage members; members create and change resources; viewers only look."
      />
      <div className="space-y-6">
        {isOwner ? <InviteForm projectId={projectId} /> : null}
        {isOwner ? <PendingInvitations projectId={projectId} /> : null}
        {isOwner ? <AddMemberForm projectId={projectId} onAdded={invalidate} /> : null}
        <Card>
          {changeRole.error ? (
            <div className="px-5 pt-4">
              <FormError message={describeError(changeRole.error).message} />
            </div>
          ) : null}
          <DataTable
            label="Members"
            columns={['Name', 'Email', 'Role', isOwner && ACTIONS_COLUMN]}
            rows={members.data ?? []}
          >
            {(member) => (
              <TR key={member.id}>
                <TD className="font-medium text-zinc-900">{member.user.name}</TD>
                <TD>{member.user.email}</TD>
                <TD>
                  {isOwner ? (
                    <Select
                      aria-label={`Role of ${member.user.email}`}
                      className="w-32"
                      value={member.role}
                      disabled={changeRole.isPending}
                      onChange={(e) =>
                        changeRole.mutate({
                          projectId,
                          membershipId: member.id,
                          role: e.target.value as Role,
                        })
                      }
                    >
                      {PROJECT_ROLES.map((role) => (
                        <option key={role} value={role}>
                          {ROLE_LABELS[role]}
                        </option>
                      ))}
                    </Select>
                  ) : (
                    <Badge>{ROLE_LABELS[member.role]}</Badge>
                  )}
                </TD>
                {isOwner ? (
                  <TD className="text-right">
                    <RowAction
                      onClick={() => setRemoving({ id: member.id, email: member.user.email })}
                    >
                      Remove
                    </RowAction>
                  </TD>
                ) : null}
              </TR>
            )}
          </DataTable>
        </Card>
      </div>
      <MutationConfirmDialog
        target={removing}
        onClose={() => setRemoving(null)}
        mutation={remove}
        variables={(target) => ({ projectId, membershipId: target.id })}
        title="Remove member"
        description={(target) => `${target.email} will lose access to this project.`}
        confirmLabel="Remove"
      />
    </>
  );
}

function AddMemberForm({ projectId, onAdded }: { projectId: string; onAdded: () => void }) {
  const trpc = useTRPC();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('MEMBER');
  const [emailError, setEmailError] = useState<string | null>(null);
  const add = useMutation(
    trpc.project.addMember.mutationOptions({
      onSuccess: () => {
        setEmail('');
        onAdded();
      },
      onError: (error) => setEmailError(describeError(error).fieldErrors.email?.[0] ?? null),
    }),
  );
  return (
    <CardForm
      layout="inline"
      title="Add a member"
      onSubmit={() => {
        const parsed = emailSchema.safeParse(email);
        if (!parsed.success) {
          setEmailError(parsed.error.issues[0]?.message ?? 'Invalid email');
          return;
        }
        setEmailError(null);
        add.mutate({ projectId, email: parsed.data, role });
      }}
      mutation={add}
      fieldErrors={{ email: emailError }}
      submitLabel="Add member"
    >
      <TextField
        label="Email"
        error={emailError}
        className="min-w-64 flex-1"
        type="email"
        value={email}
        onValueChange={setEmail}
        placeholder="teammate@example.com"
      />
      <Field label="Role" className="w-36">
        <Select value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {PROJECT_ROLES.map((r) => (
            <option key={r} value={r}>
              {ROLE_LABELS[r]}
            </option>
          ))}
        </Select>
      </Field>
    </CardForm>
  );
}

/** Invites an email with a role: mailed when Coffer has an SMTP server, else the link is shown once to pass on. */
function InviteForm({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('MEMBER');
  const [emailError, setEmailError] = useState<string | null>(null);
  const invite = useMutation(
    trpc.invitation.create.mutationOptions({
      onSuccess: () => {
        setEmail('');
        void queryClient.invalidateQueries({
          queryKey: trpc.invitation.list.queryKey({ projectId }),
        });
      },
      onError: (error) => setEmailError(describeError(error).fieldErrors.email?.[0] ?? null),
    }),
  );
  const result = invite.data;
  return (
    <div className="space-y-3">
      <CardForm
        layout="inline"
        title="Invite someone"
        description="They get a link by mail to join with this role, signing up first if they have no account. It works once, for 7 days."
        onSubmit={() => {
          const parsed = emailSchema.safeParse(email);
          if (!parsed.success) {
            setEmailError(parsed.error.issues[0]?.message ?? 'Invalid email');
            return;
          }
          setEmailError(null);
          invite.mutate({ projectId, email: parsed.data, role });
        }}
        mutation={invite}
        fieldErrors={{ email: emailError }}
        submitLabel="Invite"
      >
        <TextField
          label="Address to invite"
          error={emailError}
          className="min-w-0 flex-1 sm:min-w-64"
          type="email"
          value={email}
          onValueChange={setEmail}
          placeholder="teammate@example.com"
        />
        <Field label="Role to invite with" className="w-44">
          <Select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {PROJECT_ROLES.map((r) => (
              <option key={r} value={r}>
                {ROLE_LABELS[r]}
              </option>
            ))}
          </Select>
        </Field>
      </CardForm>
      {result ? (
        <div
          role="status"
          className="rounded-lg border border-zinc-200 bg-white px-4 py-3 text-sm text-zinc-700"
        >
          {result.delivery === 'sent' ? (
            <>Invitation mailed to {result.invitation.email}.</>
          ) : (
            <div className="space-y-2">
              <p>
                {result.delivery === 'failed'
                  ? 'The mail could not be sent'
                  : 'Coffer has no mail server configured'}
                : send this link to {result.invitation.email} yourself. It is shown only now.
              </p>
              <div className="flex items-center gap-2">
                <code
                  aria-label="Invitation link"
                  className="min-w-0 flex-1 break-all rounded bg-zinc-100 px-2 py-1 font-mono text-xs"
                >
                  {result.link}
                </code>
                <CopyButton value={result.link ?? ''} label="Copy the invitation link" />
              </div>
            </div>
          )}
        </div>
      ) : null}
    </div>
  );
}

const INVITATION_STATES = { pending: 'Pending', expired: 'Expired' } as const;

/** The invitations not yet accepted nor revoked, with Revoke. */
function PendingInvitations({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const invitations = useQuery(trpc.invitation.list.queryOptions({ projectId }));
  const revoke = useMutation(
    trpc.invitation.revoke.mutationOptions({
      onSuccess: () =>
        queryClient.invalidateQueries({ queryKey: trpc.invitation.list.queryKey({ projectId }) }),
    }),
  );
  const [revoking, setRevoking] = useState<{ id: string; email: string } | null>(null);
  if (!invitations.data?.length) return null;
  return (
    <Card className="overflow-x-auto">
      <div className="px-5 pt-4 text-sm font-semibold text-zinc-900">Invitations</div>
      <DataTable
        label="Invitations"
        columns={['Email', 'Role', 'Expires', 'Status', ACTIONS_COLUMN]}
        rows={invitations.data}
      >
        {(invitation) => (
          <TR key={invitation.id}>
            <TD className="break-all">{invitation.email}</TD>
            <TD>{ROLE_LABELS[invitation.role]}</TD>
            <TD className="whitespace-nowrap">
              <DateTime value={invitation.expiresAt} />
            </TD>
            <TD>
              <Badge tone={invitation.state === 'pending' ? 'progress' : 'warning'}>
                {INVITATION_STATES[invitation.state as keyof typeof INVITATION_STATES] ??
                  invitation.state}
              </Badge>
            </TD>
            <TD className="text-right">
              <RowAction
                onClick={() => setRevoking({ id: invitation.id, email: invitation.email })}
              >
                Revoke
              </RowAction>
            </TD>
          </TR>
        )}
      </DataTable>
      <MutationConfirmDialog
        target={revoking}
        onClose={() => setRevoking(null)}
        mutation={revoke}
        variables={(target) => ({ projectId, invitationId: target.id })}
        title="Revoke invitation"
        description={(target) => `The link sent to ${target.email} will stop working.`}
        confirmLabel="Revoke"
      />
    </Card>
  );
}
