'use client';

import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';

import { CardForm } from '~/components/ui/card-form';
import { TextField } from '~/components/ui/field';
import { firstOf, parseForm } from '~/components/ui/form-errors';
import { createUserInputSchema } from '~/lib/database-schemas';
import { describeError } from '~/lib/trpc-errors';
import { useGeneratedPassword } from '~/lib/use-generated-password';
import { useTRPC } from '~/trpc/react';
import { accountOf } from './account';
import { DatabaseChoices } from './database-choices';
import { HostField } from './host-field';
import { PasswordField } from './password-field';

/** Creates a database user with a generated password and its first databases. */
export function CreateUserForm({
  projectId,
  instanceId,
  databaseNames,
  onCreated,
}: {
  projectId: string;
  instanceId: string;
  databaseNames: string[];
  onCreated: (account: string, password: string) => unknown;
}) {
  const trpc = useTRPC();
  const [name, setName] = useState('');
  const [host, setHost] = useState('%');
  const [password, regeneratePassword] = useGeneratedPassword();
  const [chosen, setChosen] = useState<string[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const create = useMutation(
    trpc.databaseUser.create.mutationOptions({
      onSuccess: async (user) => {
        const used = password;
        setName('');
        setHost('%');
        setChosen([]);
        setErrors({});
        regeneratePassword();
        await onCreated(accountOf(user), used);
      },
      onError: (error) => setErrors(firstOf(describeError(error).fieldErrors)),
    }),
  );

  return (
    <CardForm
      title="Create a user"
      className="h-fit"
      onSubmit={() => {
        const input = { name, host, password, databases: chosen };
        const data = parseForm(createUserInputSchema, input, setErrors);
        if (data) create.mutate({ projectId, instanceId, ...data });
      }}
      mutation={create}
      fieldErrors={errors}
      submitLabel="Create user"
    >
      <TextField
        label="User name"
        error={errors.name}
        hint="Letters, digits, _ . and -; up to 32 characters."
        value={name}
        onValueChange={setName}
        placeholder="app_user"
        autoComplete="off"
      />
      <HostField host={host} onChange={setHost} error={errors.host} />
      <PasswordField
        password={password}
        onRegenerate={regeneratePassword}
        error={errors.password}
      />
      <DatabaseChoices
        legend="Access to databases"
        names={databaseNames}
        chosen={chosen}
        onChange={setChosen}
        error={errors.databases}
      />
    </CardForm>
  );
}
