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
