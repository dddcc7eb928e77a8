'use client';

import Link from 'next/link';
import { useState } from 'react';

import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { TextField } from '~/components/ui/field';
import { authClient } from '~/lib/auth-client';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '~/lib/auth-rules';
import { AuthCard } from '../auth-card';

/** The page a reset mail links to: a new password, twice; then sign in with it. */
export function ResetPasswordForm({ token }: { token: string }) {
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<{ password?: string; confirm?: string; form?: string }>({});
  const [isPending, setIsPending] = useState(false);
  const [isDone, setIsDone] = useState(false);

  if (!token || isDone) {
    return (
      <Card>
        <CardHeader>
          <CardTitle>{isDone ? 'Password changed' : 'This link is not complete'}</CardTitle>
          <CardDescription>
            {isDone
              ? 'Sign in with your new password. Every other session was signed out.'
              : 'Open the link from the mail again, or ask for a new one.'}
          </CardDescription>
        </CardHeader>
        <CardContent>
          <Link
            href={isDone ? '/sign-in' : '/forgot-password'}
            className="text-sm font-medium text-accent-700 hover:underline"
          >
            {isDone ? 'Sign in' : 'Ask for a new link'}
          </Link>
        </CardContent>
      </Card>
    );
  }

  async function onSubmit() {
    const next: typeof errors = {};
    if (password.length < MIN_PASSWORD_LENGTH)
      next.password = `At least ${MIN_PASSWORD_LENGTH} characters`;
    else if (password.length > MAX_PASSWORD_LENGTH)
      next.password = `At most ${MAX_PASSWORD_LENGTH} characters`;
    if (confirm !== password) next.confirm = 'The two passwords differ';
    setErrors(next);
    if (next.password || next.confirm) return;
    setIsPending(true);
    const { error } = await authClient.resetPassword({ newPassword: password, token });
    setIsPending(false);
    if (error) {
      setErrors({
        form:
          error.status === 429
            ? 'Too many attempts; wait a minute and try again.'
            : 'This link is not valid any more (used, or older than an hour); ask for a new one.',
      });
      return;
    }
    setIsDone(true);
  }

  return (
    <AuthCard
      title="Choose a new password"
      description="For your Coffer account."
      onSubmit={onSubmit}
      error={errors.form}
      submitLabel="Set the password"
      isPending={isPending}
      other={{ question: 'Link expired?', href: '/forgot-password', label: 'Ask for a new one' }}
    >
      <TextField
        label="New password"
        error={errors.password}
        hint={`At least ${MIN_PASSWORD_LENGTH} characters.`}
        type="password"
        autoComplete="new-password"
        value={password}
        onValueChange={setPassword}
        autoFocus
      />
      <TextField
        label="Repeat the password"
        error={errors.confirm}
        type="password"
        autoComplete="new-password"
        value={confirm}
        onValueChange={setConfirm}
      />
    </AuthCard>
  );
}
