'use client';

import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';

import { Button } from '~/components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '~/components/ui/card';
import { Field, FormError, Input } from '~/components/ui/field';
import { createUserInputSchema } from '~/lib/database-schemas';
import { generatePassword } from '~/lib/passwords';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';
import { accountOf, firstOf, HOST_HINT, issuesByField } from './account';
import { DatabaseChoices } from './database-choices';
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
  const [password, setPassword] = useState(() => generatePassword());
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
        setPassword(generatePassword());
        await onCreated(accountOf(user), used);
      },
      onError: (error) => setErrors(firstOf(describeError(error).fieldErrors)),
    }),
  );
  const hasFieldErrors = Object.values(errors).some(Boolean);

  return (
    <Card className="h-fit">
      <CardHeader>
        <CardTitle>Create a user</CardTitle>
      </CardHeader>
      <CardContent>
        <form
          noValidate
          className="space-y-4"
          onSubmit={(event) => {
            event.preventDefault();
            const parsed = createUserInputSchema.safeParse({
              name,
              host,
              password,
              databases: chosen,
            });
            if (!parsed.success) {
              setErrors(issuesByField(parsed.error.issues));
              return;
            }
            create.mutate({ projectId, instanceId, ...parsed.data });
          }}
        >
          <Field
            label="User name"
            error={errors.name}
            hint="Letters, digits, _ . and -; up to 32 characters."
          >
            <Input
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="app_user"
              autoComplete="off"
            />
          </Field>
          <Field label="Host" error={errors.host} hint={HOST_HINT}>
            <Input
              value={host}
              onChange={(e) => setHost(e.target.value)}
              className="font-mono"
              autoComplete="off"
            />
          </Field>
          <PasswordField
            password={password}
            onRegenerate={() => setPassword(generatePassword())}
            error={errors.password}
          />
          <DatabaseChoices
            legend="Access to databases"
            names={databaseNames}
            chosen={chosen}
            onChange={setChosen}
            error={errors.databases}
          />
          {create.error && !hasFieldErrors ? (
            <FormError message={describeError(create.error).message} />
          ) : null}
          <Button type="submit" isLoading={create.isPending} className="w-full">
            Create user
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}
