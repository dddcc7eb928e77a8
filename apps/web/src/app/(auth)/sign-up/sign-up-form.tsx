'use client';

import { useState } from 'react';
import type { z } from 'zod';

import { TextField } from '~/components/ui/field';
import { signUp } from '~/lib/auth-client';
import { MIN_PASSWORD_LENGTH } from '~/lib/auth-rules';
import { signUpSchema } from '~/lib/schemas';
import { invitationReturnPath } from '~/lib/invitation-link';
import { AuthCard, useAuthRequest } from '../auth-card';

type FieldName = keyof z.infer<typeof signUpSchema>;

/** Sign-up; with `invitation` (a token), back to that invitation's page afterwards, `email` filled in. */
export function SignUpForm({ invitation, email = '' }: { invitation?: string; email?: string }) {
  const [values, setValues] = useState({ name: '', email, password: '' });
  const [errors, setErrors] = useState<Partial<Record<FieldName | 'form', string>>>({});
  const { isPending, send } = useAuthRequest(invitationReturnPath(invitation));

  const set = (field: FieldName) => (value: string) => setValues((v) => ({ ...v, [field]: value }));

  async function onSubmit() {
    const parsed = signUpSchema.safeParse(values);
    if (!parsed.success) {
      const next: typeof errors = {};
      for (const issue of parsed.error.issues) next[issue.path[0] as FieldName] ??= issue.message;
      setErrors(next);
      return;
    }
    setErrors({});
    await send(
      () => signUp.email(parsed.data),
      (error) =>
        setErrors({
          form:
            error.code === 'USER_ALREADY_EXISTS' ||
            error.code === 'USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL'
              ? 'An account with this email already exists; sign in instead.'
              : error.status === 429
                ? 'Too many attempts; wait a minute and try again.'
                : (error.message ?? 'Could not create the account.'),
        }),
    );
  }

  return (
    <AuthCard
      title="Create your Coffer account"
      description="Managed MariaDB in a few clicks."
      onSubmit={onSubmit}
      error={errors.form}
      submitLabel="Create account"
      isPending={isPending}
      other={{
        question: 'Already have an account?',
        href: invitation ? `/sign-in?invitation=${invitation}` : '/sign-in',
        label: 'Sign in',
      }}
    >
      <TextField
        label="Name"
        error={errors.name}
        autoComplete="name"
        value={values.name}
        onValueChange={set('name')}
        autoFocus
      />
      <TextField
        label="Email"
        error={errors.email}
        type="email"
        autoComplete="email"
        value={values.email}
        onValueChange={set('email')}
      />
      <TextField
        label="Password"
        error={errors.password}
        hint={`At least ${MIN_PASSWORD_LENGTH} characters.`}
        type="password"
        autoComplete="new-password"
        value={values.password}
        onValueChange={set('password')}
      />
    </AuthCard>
  );
}
