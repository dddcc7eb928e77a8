'use client';

import { useMutation } from '@tanstack/react-query';

import { MutationConfirmDialog } from '~/components/ui/mutation-confirm-dialog';
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
    <MutationConfirmDialog
      target={user}
      onClose={onClose}
      mutation={remove}
      variables={(target) => ({ projectId, instanceId, ...target })}
      title={(target) => `Delete user ${accountOf(target)}?`}
      description="The account and its access go; new connections with it are refused. This cannot be undone."
      confirmLabel="Delete user"
    />
  );
}
