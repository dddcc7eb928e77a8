'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';

import { Button } from '~/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { Field, FormError, Input } from '~/components/ui/field';
import { signIn } from '~/lib/auth-client';
import { emailSchema } from '~/lib/schemas';

export function SignInForm() {
  const router = useRouter();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ email?: string; password?: string; form?: string }>({});
  const [isPending, setIsPending] = useState(false);

  async function onSubmit(event: React.FormEvent) {
    event.preventDefault();
    const parsedEmail = emailSchema.safeParse(email);
    const next: typeof errors = {};
    if (!parsedEmail.success) next.email = parsedEmail.error.issues[0]?.message;
    if (!password) next.password = 'Password is required';
    setErrors(next);
    if (next.email || next.password) return;
    setIsPending(true);
    const { error } = await signIn.email({ email: parsedEmail.data!, password });
    setIsPending(false);
    if (error) {
      setErrors({
        form:
          error.status === 429
            ? 'Too many attempts; wait a minute and try again.'
            : 'Wrong email or password.',
      });
      return;
    }
    router.replace('/');
    router.refresh();
  }

  return (
    <Card>
      <CardHeader>
        <CardTitle>Sign in to Coffer</CardTitle>
        <CardDescription>Welcome back.</CardDescription>
      </CardHeader>
      <CardContent>
        <form className="space-y-4" onSubmit={onSubmit} noValidate>
          <FormError message={errors.form} />
          <Field label="Email" error={errors.email}>
            <Input
              type="email"
              autoComplete="email"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              autoFocus
            />
          </Field>
          <Field label="Password" error={errors.password}>
            <Input
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </Field>
          <Button type="submit" className="w-full" isLoading={isPending}>
            Sign in
          </Button>
        </form>
        <p className="mt-4 text-center text-sm text-zinc-500">
          New here?{' '}
          <Link href="/sign-up" className="font-medium text-accent-700 hover:underline">
            Create an account
          </Link>
        </p>
      </CardContent>
    </Card>
  );
}
