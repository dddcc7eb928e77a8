import type { Metadata } from 'next';
import { redirect } from 'next/navigation';

import { getSession } from '~/server/session/get-session';
import { SignInForm } from './sign-in-form';

export const metadata: Metadata = { title: 'Sign in' };

export default async function SignInPage() {
  if (await getSession()) redirect('/');
  return <SignInForm />;
}
