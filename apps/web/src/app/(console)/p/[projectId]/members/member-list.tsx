'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';

import { Badge } from '~/components/ui/badge';
import { Button } from '~/components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '~/components/ui/card';
import { ConfirmDialog } from '~/components/ui/dialog';
import { Field, FormError, Input, Select } from '~/components/ui/field';
import { PageHeader } from '~/components/ui/page';
import { Table, TBody, TD, TH, THead, TR } from '~/components/ui/table';
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
          <Table aria-label="Members">
            <THead>
              <tr>
                <TH>Name</TH>
                <TH>Email</TH>
                <TH>Role</TH>
                {isOwner ? <TH className="text-right">Actions</TH> : null}
              </tr>
            </THead>
            <TBody>
              {(members.data ?? []).map((member) => (
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
                      <Button
                        variant="ghost"
                        size="sm"
                        onClick={() => setRemoving({ id: member.id, email: member.user.email })}
                      >
                        Remove
                      </Button>
                    </TD>
                  ) : null}
                </TR>
              ))}
            </TBody>
          </Table>
        </Card>
      </div>
      <ConfirmDialog
        open={removing !== null}
        onClose={() => {
          setRemoving(null);
          remove.reset();
        }}
        title="Remove member"
        description={`${removing?.email ?? ''} will lose access to this project.`}
        confirmLabel="Remove"
        isPending={remove.isPending}
        error={remove.error ? describeError(remove.error).message : null}
        onConfirm={() =>
          removing &&
          remove.mutate(
            { projectId, membershipId: removing.id },
            { onSuccess: () => setRemoving(null) },
          )
        }
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
    <Card>
      <CardHeader>
        <CardTitle>Add a member</CardTitle>
      </CardHeader>
      <CardContent>
        <form
          noValidate
          className="flex flex-wrap items-start gap-3"
          onSubmit={(event) => {
            event.preventDefault();
            const parsed = emailSchema.safeParse(email);
            if (!parsed.success) {
              setEmailError(parsed.error.issues[0]?.message ?? 'Invalid email');
              return;
            }
            setEmailError(null);
            add.mutate({ projectId, email: parsed.data, role });
          }}
        >
          <Field label="Email" error={emailError} className="min-w-64 flex-1">
            <Input
              type="email"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              placeholder="teammate@example.com"
            />
          </Field>
          <Field label="Role" className="w-36">
            <Select value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {PROJECT_ROLES.map((r) => (
                <option key={r} value={r}>
                  {ROLE_LABELS[r]}
                </option>
              ))}
            </Select>
          </Field>
          <Button type="submit" className="mt-6" isLoading={add.isPending}>
            Add member
          </Button>
        </form>
        {add.error && !emailError ? (
          <div className="mt-3">
            <FormError message={describeError(add.error).message} />
          </div>
        ) : null}
      </CardContent>
    </Card>
  );
}
