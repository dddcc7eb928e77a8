'use client';

import { useMutation } from '@tanstack/react-query';
import { KeyRound } from 'lucide-react';
import { useState } from 'react';

import { Button } from '~/components/ui/button';
import { Dialog } from '~/components/ui/dialog';
import { Field, FormError, Input } from '~/components/ui/field';
import { updateUserInputSchema } from '~/lib/database-schemas';
import { generatePassword } from '~/lib/passwords';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';
import { type Account, accountOf, firstOf, HOST_HINT, issuesByField } from './account';
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
  const [password, setPassword] = useState(() => generatePassword());
  const [errors, setErrors] = useState<Record<string, string>>({});
  const update = useMutation(
    trpc.databaseUser.update.mutationOptions({
      onSuccess: (changed) => onChanged(accountOf(changed), isNewPassword ? password : null),
      onError: (error) => setErrors(firstOf(describeError(error).fieldErrors)),
    }),
  );
  const hasFieldErrors = Object.values(errors).some(Boolean);

  return (
    <Dialog
      open
      onClose={onClose}
      title={`Edit user ${accountOf(user)}`}
      description="Its grants stay with it when the host changes."
    >
      <form
        noValidate
        className="space-y-4"
        onSubmit={(event) => {
          event.preventDefault();
          const input = {
            name: user.name,
            host: user.host,
            ...(host !== user.host ? { newHost: host } : {}),
            ...(isNewPassword ? { newPassword: password } : {}),
          };
          const parsed = updateUserInputSchema.safeParse(input);
          if (!parsed.success) {
            setErrors(issuesByField(parsed.error.issues));
            return;
          }
          update.mutate({ projectId, instanceId, ...parsed.data });
        }}
      >
        <Field label="Host" error={errors.newHost} hint={HOST_HINT}>
          <Input
            value={host}
            onChange={(e) => setHost(e.target.value)}
            className="font-mono"
            autoComplete="off"
          />
        </Field>
        <label className="flex items-center gap-2 text-sm text-zinc-700">
          <input
            type="checkbox"
            className="size-4 rounded border-zinc-300 accent-accent-600"
            checked={isNewPassword}
            onChange={(e) => setIsNewPassword(e.target.checked)}
          />
          <KeyRound className="size-4 text-zinc-400" aria-hidden="true" />
          Set a new password
        </label>
        {isNewPassword ? (
          <PasswordField
            password={password}
            onRegenerate={() => setPassword(generatePassword())}
            error={errors.newPassword}
          />
        ) : null}
        {update.error && !hasFieldErrors ? (
          <FormError message={describeError(update.error).message} />
        ) : null}
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose} disabled={update.isPending}>
            Cancel
          </Button>
          <Button type="submit" isLoading={update.isPending}>
            Save changes
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
