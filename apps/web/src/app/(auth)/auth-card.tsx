'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';

import { Button } from '~/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { FormError } from '~/components/ui/field';

/**
 * Sends an auth request (sign in, sign up): pending meanwhile; on success the console opens
 * (or `next`: an invitation's page), else `onError` gets the error.
 */
export function useAuthRequest(next = '/') {
  const router = useRouter();
  const [isPending, setIsPending] = useState(false);
  async function send<E>(request: () => Promise<{ error: E | null }>, onError: (error: E) => void) {
    setIsPending(true);
    const { error } = await request();
    setIsPending(false);
    if (error) return onError(error);
    router.replace(next);
    router.refresh();
  }
  return { isPending, send };
}

/** The card of the sign-in and sign-up pages: the form, its error, and a link to the other page. */
export function AuthCard({
  title,
  description,
  onSubmit,
  error,
  submitLabel,
  isPending,
  other,
  extra,
  children,
}: {
  title: string;
  description: string;
  onSubmit: () => unknown;
  error?: string;
  submitLabel: string;
  isPending: boolean;
  /** The line under the form: a question and the link to the other page. */
  other: { question: string; href: string; label: string };
  /** Under the submit button (e.g. "Forgot your password?"). */
  extra?: React.ReactNode;
  children: React.ReactNode;
}) {
  return (
    <Card>
      <CardHeader>
        <CardTitle>{title}</CardTitle>
        <CardDescription>{description}</CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="space-y-4"
          onSubmit={(event) => {
            event.preventDefault();
            void onSubmit();
          }}
          noValidate
        >
          <FormError message={error} />
          {children}
          <Button type="submit" className="w-full" isLoading={isPending}>
            {submitLabel}
          </Button>
          {extra}
        </form>
        <p className="mt-4 text-center text-sm text-zinc-500">
          {other.question}{' '}
          <Link href={other.href} className="font-medium text-accent-700 hover:underline">
            {other.label}
          </Link>
        </p>
      </CardContent>
    </Card>
  );
}
