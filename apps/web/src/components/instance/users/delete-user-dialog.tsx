'use client';

import { useMutation } from '@tanstack/react-query';

import { ConfirmDialog } from '~/components/ui/dialog';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';
import { type Account, accountOf } from './account';

/** Confirms and deletes `user` (open while there is one). */
export function DeleteUserDialog({
  projectId,
  instanceId,
  user,
  onClose,
  onDeleted,
}: {
  projectId: string;
  instanceId: string;
  user: Account | null;
  onClose: () => void;
  onDeleted: () => unknown;
}) {
  const trpc = useTRPC();
  const remove = useMutation(trpc.databaseUser.delete.mutationOptions({ onSuccess: onDeleted }));
  return (
    <ConfirmDialog
      open={user !== null}
      onClose={() => {
        onClose();
        remove.reset();
      }}
      title={`Delete user ${user ? accountOf(user) : ''}?`}
      description="The account and its access go; new connections with it are refused. This cannot be undone."
      confirmLabel="Delete user"
      isPending={remove.isPending}
      error={remove.error ? describeError(remove.error).message : null}
      onConfirm={() =>
        user && remove.mutate({ projectId, instanceId, ...user }, { onSuccess: onClose })
      }
    />
  );
}
