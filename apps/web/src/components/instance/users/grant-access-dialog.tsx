'use client';

import { type DatabaseUserInfo } from '@coffer/contracts';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';

import { Button } from '~/components/ui/button';
import { Dialog } from '~/components/ui/dialog';
import { FormError } from '~/components/ui/field';
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
    <Dialog
      open
      onClose={onClose}
      title={`Grant access to ${accountOf(user)}`}
      description="Every privilege on each database chosen."
    >
      <form
        noValidate
        className="space-y-4"
        onSubmit={(event) => {
          event.preventDefault();
          grant.mutate({
            projectId,
            instanceId,
            name: user.name,
            host: user.host,
            databases: chosen,
          });
        }}
      >
        <DatabaseChoices
          legend="Databases"
          names={available}
          chosen={chosen}
          onChange={setChosen}
          error={fieldError}
        />
        {grant.error && !fieldError ? (
          <FormError message={describeError(grant.error).message} />
        ) : null}
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose} disabled={grant.isPending}>
            Cancel
          </Button>
          <Button type="submit" isLoading={grant.isPending} disabled={chosen.length === 0}>
            Grant access
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
