'use client';

import { useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';

import { Button, buttonVariants } from '~/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { FormError } from '~/components/ui/field';
import { signOut } from '~/lib/auth-client';
import { ROLE_LABELS } from '~/lib/schemas';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';

interface Invitation {
  projectName: string;
  email: string;
  role: keyof typeof ROLE_LABELS;
  state: 'pending' | 'expired' | 'accepted' | 'revoked';
  invitedByName: string | null;
}

const linkClass = 'font-medium text-accent-700 hover:underline';

export function InvitationCard({
  token,
  invitation,
  refusal = null,
  signedInAs,
}: {
  token: string;
  invitation: Invitation | null;
  /** Why the invitation could not be looked up, when it is not that the link is wrong (too many requests). */
  refusal?: string | null;
  signedInAs: string | null;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const accept = useMutation(
    trpc.invitation.accept.mutationOptions({
      onSuccess: ({ projectId }) => {
        router.replace(`/p/${projectId}/dashboard`);
        router.refresh();
      },
    }),
  );

  if (!invitation || invitation.state !== 'pending') {
    const why = refusal
      ? `${refusal}.`
      : !invitation
        ? 'This invitation link is not valid.'
        : invitation.state === 'expired'
          ? 'This invitation has expired.'
          : invitation.state === 'accepted'
            ? 'This invitation has already been accepted.'
            : 'This invitation was revoked.';
    return (
      <Card>
        <CardHeader>
          <CardTitle>Invitation</CardTitle>
          <CardDescription>
            {why}
            {refusal ? null : " Ask the project's owner for a new one."}
          </CardDescription>
        </CardHeader>
        <CardContent>
          <Link href="/" className={`text-sm ${linkClass}`}>
            Go to Coffer
          </Link>
        </CardContent>
      </Card>
    );
  }

  const isForMe = signedInAs?.toLowerCase() === invitation.email;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Join {invitation.projectName}</CardTitle>
        <CardDescription>
          {invitation.invitedByName ?? 'An owner'} invited <strong>{invitation.email}</strong> to
          the project <strong>{invitation.projectName}</strong> as{' '}
          {ROLE_LABELS[invitation.role].toLowerCase()}.
        </CardDescription>
      </CardHeader>
      <CardContent className="space-y-4">
        {accept.error ? <FormError message={describeError(accept.error).message} /> : null}
        {!signedInAs ? (
          <>
            <Link
              href={`/sign-up?invitation=${token}`}
              className={buttonVariants({ className: 'w-full' })}
            >
              Create an account to accept
            </Link>
            <p className="text-center text-sm text-zinc-500">
              Already have an account with this email?{' '}
              <Link href={`/sign-in?invitation=${token}`} className={linkClass}>
                Sign in
              </Link>
            </p>
          </>
        ) : isForMe ? (
          <Button
            className="w-full"
            isLoading={accept.isPending}
            onClick={() => accept.mutate({ token })}
          >
            Accept invitation
          </Button>
        ) : (
          <>
            <p className="text-sm text-zinc-600">
              You are signed in as <strong>{signedInAs}</strong>; this invitation is for{' '}
              <strong>{invitation.email}</strong>: sign out, then sign in with that email.
            </p>
            <Button
              variant="secondary"
              className="w-full"
              onClick={async () => {
                await signOut();
                router.replace(`/sign-in?invitation=${token}`);
                router.refresh();
              }}
            >
              Sign out
            </Button>
          </>
        )}
      </CardContent>
    </Card>
  );
}
