'use client';

import { useMutation } from '@tanstack/react-query';

import { MutationConfirmDialog } from '~/components/ui/mutation-confirm-dialog';
import { useTRPC } from '~/trpc/react';
import { type Account, accountOf } from './account';

/** Confirms and revokes a user's access to one database (open while there is one). */
export function RevokeAccessDialog({
  projectId,
  instanceId,
  access,
  onClose,
  onRevoked,
}: {
  projectId: string;
  instanceId: string;
  access: (Account & { database: string }) | null;
  onClose: () => void;
  onRevoked: () => unknown;
}) {
  const trpc = useTRPC();
  const revoke = useMutation(
    trpc.databaseUser.revokeAccess.mutationOptions({ onSuccess: onRevoked }),
  );
  return (
    <MutationConfirmDialog
      target={access}
      onClose={onClose}
      mutation={revoke}
      variables={(target) => ({ projectId, instanceId, ...target })}
      title={(target) => `Revoke access to ${target.database}?`}
      description={(target) =>
        `${accountOf(target)} will no longer be able to use ${target.database}.`
      }
      confirmLabel="Revoke access"
    />
  );
}
