import type { Metadata } from 'next';
import { redirect } from 'next/navigation';

import { invitationReturnPath } from '~/lib/invitation-link';
import { getSession } from '~/server/session/get-session';
import { api } from '~/trpc/server';
import { SignUpForm } from './sign-up-form';

export const metadata: Metadata = { title: 'Create an account' };

export default async function SignUpPage({
  searchParams,
}: {
  searchParams: Promise<{ invitation?: string }>;
}) {
  const { invitation } = await searchParams;
  const next = invitationReturnPath(invitation);
  if (await getSession()) redirect(next ?? '/');
  // Signing up to accept an invitation: its email, filled in.
  const invited = next ? await api.invitation.get({ token: invitation! }).catch(() => null) : null;
  return (
    <SignUpForm
      invitation={next ? invitation : undefined}
      email={invited?.state === 'pending' ? invited.email : undefined}
    />
  );
}
