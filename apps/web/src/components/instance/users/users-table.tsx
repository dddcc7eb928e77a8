'use client';

import { type DatabaseUserInfo } from '@coffer/contracts';
import { Pencil, Plus, Trash, X } from 'lucide-react';

import { Badge } from '~/components/ui/badge';
import { ACTIONS_COLUMN, DataTable, RowActions } from '~/components/ui/data-table';
import { TD, TR } from '~/components/ui/table';
import { type Account, accountOf } from './account';

/** The users with the databases each may use; with `canWrite`, the buttons that change them. */
export function UsersTable({
  users,
  canWrite,
  onGrant,
  onRevoke,
  onEdit,
  onDelete,
}: {
  users: DatabaseUserInfo[];
  canWrite: boolean;
  onGrant: (user: DatabaseUserInfo) => void;
  onRevoke: (access: Account & { database: string }) => void;
  onEdit: (user: Account) => void;
  onDelete: (user: Account) => void;
}) {
  return (
    <DataTable
      label="Users"
      columns={['User', 'Host', 'Access', canWrite && ACTIONS_COLUMN]}
      rows={users}
    >
      {(user) => (
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
                        onClick={() => onRevoke({ name: user.name, host: user.host, database })}
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
              <RowActions
                actions={[
                  {
                    label: 'Access',
                    icon: Plus,
                    'aria-label': `Grant access to ${accountOf(user)}`,
                    onClick: () => onGrant(user),
                  },
                  {
                    label: 'Edit',
                    icon: Pencil,
                    'aria-label': `Edit user ${accountOf(user)}`,
                    onClick: () => onEdit(user),
                  },
                  {
                    label: 'Delete',
                    icon: Trash,
                    'aria-label': `Delete user ${accountOf(user)}`,
                    onClick: () => onDelete(user),
                  },
                ]}
              />
            </TD>
          ) : null}
        </TR>
      )}
    </DataTable>
  );
}
