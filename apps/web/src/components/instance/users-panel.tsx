'use client';

import { type DatabaseUserInfo } from '@coffer/contracts';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Users } from 'lucide-react';
import { useState } from 'react';

import { Card, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { CardEmptyState, PanelState } from '~/components/ui/panel-state';
import { useTRPC } from '~/trpc/react';
import { type InstancePanelProps } from './instance-panel';
import { InactiveNotice, SecretNotice } from './secret-notice';
import { type Account } from './users/account';
import { CreateUserForm } from './users/create-user-form';
import { DeleteUserDialog } from './users/delete-user-dialog';
import { EditUserDialog } from './users/edit-user-dialog';
import { GrantAccessDialog } from './users/grant-access-dialog';
import { RevokeAccessDialog } from './users/revoke-access-dialog';
import { UsersTable } from './users/users-table';

/**
 * The database users of an instance with their access: create (a generated password shown
 * once), grant and revoke access, change host or password, delete. Root and the guest's own
 * account are never listed.
 */
export function UsersPanel({ projectId, instanceId, status, canWrite }: InstancePanelProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const isActive = status === 'ACTIVE';
  const users = useQuery({
    ...trpc.databaseUser.list.queryOptions({ projectId, instanceId }),
    enabled: isActive,
  });
  const databases = useQuery({
    ...trpc.database.list.queryOptions({ projectId, instanceId }),
    enabled: isActive,
  });
  const invalidate = () =>
    queryClient.invalidateQueries({
      queryKey: trpc.databaseUser.list.queryKey({ projectId, instanceId }),
    });

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
            <CardDescription>
              Accounts that connect to this server, and the databases each may use.
            </CardDescription>
          </CardHeader>
          <PanelState
            variant="card"
            query={users}
            empty={
              <CardEmptyState
                icon={<Users />}
                title="No users yet"
                description="Create one and give it access to your databases."
              />
            }
          >
            {(list) => (
              <UsersTable
                users={list}
                canWrite={canWrite}
                onGrant={setGranting}
                onRevoke={setRevoking}
                onEdit={setEditing}
                onDelete={setDeleting}
              />
            )}
          </PanelState>
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

      <DeleteUserDialog
        projectId={projectId}
        instanceId={instanceId}
        user={deleting}
        onClose={() => setDeleting(null)}
        onDeleted={invalidate}
      />
      <RevokeAccessDialog
        projectId={projectId}
        instanceId={instanceId}
        access={revoking}
        onClose={() => setRevoking(null)}
        onRevoked={invalidate}
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
