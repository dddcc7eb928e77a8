import type { Metadata } from 'next';
import { redirect } from 'next/navigation';

import { getSession } from '~/server/session/get-session';
import { SignUpForm } from './sign-up-form';

export const metadata: Metadata = { title: 'Create an account' };

export default async function SignUpPage() {
  if (await getSession()) redirect('/');
  return <SignUpForm />;
}
