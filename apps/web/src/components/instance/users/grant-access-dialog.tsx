'use client';

import { type DatabaseUserInfo } from '@coffer/contracts';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';

import { FormDialog } from '~/components/ui/form-dialog';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';
import { accountOf } from './account';
import { DatabaseChoices } from './database-choices';

/** Grants a user every privilege on the databases chosen among those it cannot use yet. */
export function GrantAccessDialog({
  projectId,
  instanceId,
  user,
  databaseNames,
  onClose,
  onGranted,
}: {
  projectId: string;
  instanceId: string;
  user: DatabaseUserInfo;
  databaseNames: string[];
  onClose: () => void;
  onGranted: () => unknown;
}) {
  const trpc = useTRPC();
  const [chosen, setChosen] = useState<string[]>([]);
  const grant = useMutation(
    trpc.databaseUser.grantAccess.mutationOptions({
      onSuccess: async () => {
        await onGranted();
        onClose();
      },
    }),
  );
  const available = databaseNames.filter((name) => !user.databases.includes(name));
  const fieldError = grant.error
    ? Object.values(describeError(grant.error).fieldErrors)[0]?.[0]
    : undefined;

  return (
    <FormDialog
      onClose={onClose}
      title={`Grant access to ${accountOf(user)}`}
      description="Every privilege on each database chosen."
      noValidate
      onSubmit={() =>
        grant.mutate({ projectId, instanceId, name: user.name, host: user.host, databases: chosen })
      }
      error={grant.error && !fieldError ? describeError(grant.error).message : null}
      submitLabel="Grant access"
      isPending={grant.isPending}
      isSubmitDisabled={chosen.length === 0}
    >
      <DatabaseChoices
        legend="Databases"
        names={available}
        chosen={chosen}
        onChange={setChosen}
        error={fieldError}
      />
    </FormDialog>
  );
}
