import type { Metadata } from 'next';
import { redirect } from 'next/navigation';

import { invitationReturnPath } from '~/lib/invitation-link';
import { getSession } from '~/server/session/get-session';
import { SignInForm } from './sign-in-form';

export const metadata: Metadata = { title: 'Sign in' };

export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<{ invitation?: string }>;
}) {
  const { invitation } = await searchParams;
  const next = invitationReturnPath(invitation);
  if (await getSession()) redirect(next ?? '/');
  return <SignInForm invitation={next ? invitation : undefined} />;
}
