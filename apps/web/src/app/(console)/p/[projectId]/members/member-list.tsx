'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';

import { Badge } from '~/components/ui/badge';
import { Card } from '~/components/ui/card';
import { CardForm } from '~/components/ui/card-form';
import { ACTIONS_COLUMN, DataTable, RowAction } from '~/components/ui/data-table';
import { FormError, Select } from '~/components/ui/field';
import { MutationConfirmDialog } from '~/components/ui/mutation-confirm-dialog';
import { PageHeader } from '~/components/ui/page';
import { TD, TR } from '~/components/ui/table';
import { CopyButton } from '~/components/ui/copy-button';
import { DateTime } from '~/components/ui/date-time';
import { PROJECT_ROLES, ROLE_LABELS } from '~/lib/schemas';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';

import { EmailRoleFields, type Role, useEmailRole } from './email-role-fields';

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
  const fields = useEmailRole();
  const add = useMutation(
    trpc.project.addMember.mutationOptions({
      onSuccess: () => {
        fields.setEmail('');
        onAdded();
      },
      onError: fields.showApiError,
    }),
  );
  return (
    <CardForm
      layout="inline"
      title="Add a member"
      onSubmit={() => {
        const checked = fields.check();
        if (checked) add.mutate({ projectId, ...checked });
      }}
      mutation={add}
      fieldErrors={{ email: fields.emailError }}
      submitLabel="Add member"
    >
      <EmailRoleFields
        state={fields}
        emailLabel="Email"
        roleLabel="Role"
        emailClassName="min-w-64 flex-1"
        roleClassName="w-36"
      />
    </CardForm>
  );
}

/** Invites an email with a role: mailed when Coffer has an SMTP server, else the link is shown once to pass on. */
function InviteForm({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const fields = useEmailRole();
  const invite = useMutation(
    trpc.invitation.create.mutationOptions({
      onSuccess: () => {
        fields.setEmail('');
        void queryClient.invalidateQueries({
          queryKey: trpc.invitation.list.queryKey({ projectId }),
        });
      },
      onError: fields.showApiError,
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
          const checked = fields.check();
          if (checked) invite.mutate({ projectId, ...checked });
        }}
        mutation={invite}
        fieldErrors={{ email: fields.emailError }}
        submitLabel="Invite"
      >
        <EmailRoleFields
          state={fields}
          emailLabel="Address to invite"
          roleLabel="Role to invite with"
          emailClassName="min-w-0 flex-1 sm:min-w-64"
          roleClassName="w-44"
        />
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
