'use client';

import Link from 'next/link';
import { useState } from 'react';

import { TextField } from '~/components/ui/field';
import { signIn } from '~/lib/auth-client';
import { emailSchema } from '~/lib/schemas';
import { invitationReturnPath } from '~/lib/invitation-link';
import { AuthCard, useAuthRequest } from '../auth-card';

/** Sign-in; with `invitation` (a token), back to that invitation's page afterwards. */
export function SignInForm({ invitation }: { invitation?: string }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ email?: string; password?: string; form?: string }>({});
  const { isPending, send } = useAuthRequest(invitationReturnPath(invitation));

  async function onSubmit() {
    const parsedEmail = emailSchema.safeParse(email);
    const next: typeof errors = {};
    if (!parsedEmail.success) next.email = parsedEmail.error.issues[0]?.message;
    if (!password) next.password = 'Password is required';
    setErrors(next);
    if (next.email || next.password) return;
    await send(
      () => signIn.email({ email: parsedEmail.data!, password }),
      (error) =>
        setErrors({
          form:
            error.status === 429
              ? 'Too many attempts; wait a minute and try again.'
              : 'Wrong email or password.',
        }),
    );
  }

  return (
    <AuthCard
      title="Sign in to Coffer"
      description="Welcome back."
      onSubmit={onSubmit}
      error={errors.form}
      submitLabel="Sign in"
      isPending={isPending}
      other={{
        question: 'New here?',
        href: invitation ? `/sign-up?invitation=${invitation}` : '/sign-up',
        label: 'Create an account',
      }}
      extra={
        <p className="text-center text-sm">
          <Link href="/forgot-password" className="text-accent-700 hover:underline">
            Forgot your password?
          </Link>
        </p>
      }
    >
      <TextField
        label="Email"
        error={errors.email}
        type="email"
        autoComplete="email"
        value={email}
        onValueChange={setEmail}
        autoFocus
      />
      <TextField
        label="Password"
        error={errors.password}
        type="password"
        autoComplete="current-password"
        value={password}
        onValueChange={setPassword}
      />
    </AuthCard>
  );
}
