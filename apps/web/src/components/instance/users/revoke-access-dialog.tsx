'use client';

import { useMutation } from '@tanstack/react-query';

import { ConfirmDialog } from '~/components/ui/dialog';
import { describeError } from '~/lib/trpc-errors';
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
    <ConfirmDialog
      open={access !== null}
      onClose={() => {
        onClose();
        revoke.reset();
      }}
      title={`Revoke access to ${access?.database ?? ''}?`}
      description={
        access ? `${accountOf(access)} will no longer be able to use ${access.database}.` : ''
      }
      confirmLabel="Revoke access"
      isPending={revoke.isPending}
      error={revoke.error ? describeError(revoke.error).message : null}
      onConfirm={() =>
        access && revoke.mutate({ projectId, instanceId, ...access }, { onSuccess: onClose })
      }
    />
  );
}
