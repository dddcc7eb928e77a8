import 'server-only';

import { headers } from 'next/headers';
import { redirect } from 'next/navigation';

import { auth } from '~/server/auth';

/** The session of the current request, or null. */
export async function getSession() {
  return auth.api.getSession({ headers: await headers() });
}

/** The session, or a redirect to sign-in for pages that need one. */
export async function requireSession() {
  const session = await getSession();
  if (!session) redirect('/sign-in');
  return session;
}
