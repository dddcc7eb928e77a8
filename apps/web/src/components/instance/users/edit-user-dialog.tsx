'use client';

import { useMutation } from '@tanstack/react-query';
import { KeyRound } from 'lucide-react';
import { useState } from 'react';

import { Checkbox } from '~/components/ui/field';
import { FormDialog } from '~/components/ui/form-dialog';
import { firstOf, formErrorOf, parseForm } from '~/components/ui/form-errors';
import { updateUserInputSchema } from '~/lib/database-schemas';
import { describeError } from '~/lib/trpc-errors';
import { useGeneratedPassword } from '~/lib/use-generated-password';
import { useTRPC } from '~/trpc/react';
import { type Account, accountOf } from './account';
import { HostField } from './host-field';
import { PasswordField } from './password-field';

/** Changes a user's host (its grants follow) and/or sets a new generated password. */
export function EditUserDialog({
  projectId,
  instanceId,
  user,
  onClose,
  onChanged,
}: {
  projectId: string;
  instanceId: string;
  user: Account;
  onClose: () => void;
  onChanged: (account: string, password: string | null) => unknown;
}) {
  const trpc = useTRPC();
  const [host, setHost] = useState(user.host);
  const [isNewPassword, setIsNewPassword] = useState(false);
  const [password, regeneratePassword] = useGeneratedPassword();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const update = useMutation(
    trpc.databaseUser.update.mutationOptions({
      onSuccess: (changed) => onChanged(accountOf(changed), isNewPassword ? password : null),
      onError: (error) => setErrors(firstOf(describeError(error).fieldErrors)),
    }),
  );
  const hasFieldErrors = Object.values(errors).some(Boolean);

  return (
    <FormDialog
      onClose={onClose}
      title={`Edit user ${accountOf(user)}`}
      description="Its grants stay with it when the host changes."
      noValidate
      onSubmit={() => {
        const input = {
          name: user.name,
          host: user.host,
          ...(host !== user.host ? { newHost: host } : {}),
          ...(isNewPassword ? { newPassword: password } : {}),
        };
        const data = parseForm(updateUserInputSchema, input, setErrors);
        if (data) update.mutate({ projectId, instanceId, ...data });
      }}
      error={formErrorOf(update.error, hasFieldErrors)}
      submitLabel="Save changes"
      isPending={update.isPending}
    >
      <HostField host={host} onChange={setHost} error={errors.newHost} />
      <Checkbox checked={isNewPassword} onCheckedChange={setIsNewPassword}>
        <KeyRound className="size-4 text-zinc-400" aria-hidden="true" />
        Set a new password
      </Checkbox>
      {isNewPassword ? (
        <PasswordField
          password={password}
          onRegenerate={regeneratePassword}
          error={errors.newPassword}
        />
      ) : null}
    </FormDialog>
  );
}
