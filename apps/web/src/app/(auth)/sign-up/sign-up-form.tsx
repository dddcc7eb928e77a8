'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import type { z } from 'zod';

import { Button } from '~/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { Field, FormError, Input } from '~/components/ui/field';
import { signUp } from '~/lib/auth-client';
import { MIN_PASSWORD_LENGTH } from '~/lib/auth-rules';
import { signUpSchema } from '~/lib/schemas';

type FieldName = keyof z.infer<typeof signUpSchema>;

export function SignUpForm() {
  const router = useRouter();
  const [values, setValues] = useState({ name: '', email: '', password: '' });
  const [errors, setErrors] = useState<Partial<Record<FieldName | 'form', string>>>({});
  const [isPending, setIsPending] = useState(false);

  const set = (field: FieldName) => (event: React.ChangeEvent<HTMLInputElement>) =>
    setValues((v) => ({ ...v, [field]: event.target.value }));

  async function onSubmit(event: React.FormEvent) {
    event.preventDefault();
    const parsed = signUpSchema.safeParse(values);
    if (!parsed.success) {
      const next: typeof errors = {};
      for (const issue of parsed.error.issues) next[issue.path[0] as FieldName] ??= issue.message;
      setErrors(next);
      return;
    }
    setErrors({});
    setIsPending(true);
    const { error } = await signUp.email(parsed.data);
    setIsPending(false);
    if (error) {
      const message =
        error.code === 'USER_ALREADY_EXISTS' ||
        error.code === 'USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL'
          ? 'An account with this email already exists; sign in instead.'
          : error.status === 429
            ? 'Too many attempts; wait a minute and try again.'
            : (error.message ?? 'Could not create the account.');
      setErrors({ form: message });
      return;
    }
    router.replace('/');
    router.refresh();
  }

  return (
    <Card>
      <CardHeader>
        <CardTitle>Create your Coffer account</CardTitle>
        <CardDescription>Managed MariaDB in a few clicks.</CardDescription>
      </CardHeader>
      <CardContent>
        <form className="space-y-4" onSubmit={onSubmit} noValidate>
          <FormError message={errors.form} />
          <Field label="Name" error={errors.name}>
            <Input autoComplete="name" value={values.name} onChange={set('name')} autoFocus />
          </Field>
          <Field label="Email" error={errors.email}>
            <Input type="email" autoComplete="email" value={values.email} onChange={set('email')} />
          </Field>
          <Field
            label="Password"
            error={errors.password}
            hint={`At least ${MIN_PASSWORD_LENGTH} characters.`}
          >
            <Input
              type="password"
              autoComplete="new-password"
              value={values.password}
              onChange={set('password')}
            />
          </Field>
          <Button type="submit" className="w-full" isLoading={isPending}>
            Create account
          </Button>
        </form>
        <p className="mt-4 text-center text-sm text-zinc-500">
          Already have an account?{' '}
          <Link href="/sign-in" className="font-medium text-accent-700 hover:underline">
            Sign in
          </Link>
        </p>
      </CardContent>
    </Card>
  );
}
