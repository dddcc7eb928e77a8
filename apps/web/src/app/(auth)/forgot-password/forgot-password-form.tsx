'use client';

import Link from 'next/link';
import { useState } from 'react';

import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { TextField } from '~/components/ui/field';
import { authClient } from '~/lib/auth-client';
import { emailSchema } from '~/lib/schemas';
import { AuthCard } from '../auth-card';

/**
 * Asks for a password reset link by mail. The answer is the same whether or not the email
 * has an account; without an SMTP server (COFFER_SMTP_URL) the page says to ask an operator.
 */
export function ForgotPasswordForm({ mailConfigured }: { mailConfigured: boolean }) {
  const [email, setEmail] = useState('');
  const [error, setError] = useState<{ email?: string; form?: string }>({});
  const [isPending, setIsPending] = useState(false);
  const [sentTo, setSentTo] = useState<string | null>(null);

  if (!mailConfigured) {
    return (
      <Done title="Reset your password">
        This Coffer sends no mail (no SMTP server is configured), so it cannot send a reset link.
        Ask whoever runs it to configure one (COFFER_SMTP_URL).
      </Done>
    );
  }
  if (sentTo) {
    return (
      <Done title="Check your mail">
        If an account uses <strong>{sentTo}</strong>, a link to choose a new password is on its way.
        It works once, for one hour.
      </Done>
    );
  }

  async function onSubmit() {
    const parsed = emailSchema.safeParse(email);
    if (!parsed.success) {
      setError({ email: parsed.error.issues[0]?.message });
      return;
    }
    setError({});
    setIsPending(true);
    const { error: failed } = await authClient.requestPasswordReset({ email: parsed.data });
    setIsPending(false);
    if (failed) {
      setError({
        form:
          failed.status === 429
            ? 'Too many requests; wait a minute and try again.'
            : (failed.message ?? 'Could not send the link.'),
      });
      return;
    }
    setSentTo(parsed.data);
  }

  return (
    <AuthCard
      title="Reset your password"
      description="We will mail you a link to choose a new one."
      onSubmit={onSubmit}
      error={error.form}
      submitLabel="Send the link"
      isPending={isPending}
      other={{ question: 'Remembered it?', href: '/sign-in', label: 'Sign in' }}
    >
      <TextField
        label="Email"
        error={error.email}
        type="email"
        autoComplete="email"
        value={email}
        onValueChange={setEmail}
        autoFocus
      />
    </AuthCard>
  );
}

function Done({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <Card>
      <CardHeader>
        <CardTitle>{title}</CardTitle>
        <CardDescription>{children}</CardDescription>
      </CardHeader>
      <CardContent>
        <Link href="/sign-in" className="text-sm font-medium text-accent-700 hover:underline">
          Back to sign in
        </Link>
      </CardContent>
    </Card>
  );
}
