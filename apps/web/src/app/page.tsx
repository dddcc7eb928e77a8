import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';

import { LAST_PROJECT_COOKIE } from '~/lib/constants';
import { getSession } from '~/server/session/get-session';
import { api } from '~/trpc/server';

/** The front door: sign in, create a first project, or go to the last project used. */
export default async function HomePage() {
  const session = await getSession();
  if (!session) redirect('/sign-in');
  const projects = await api.project.list();
  if (projects.length === 0) redirect('/projects/new');
  const last = (await cookies()).get(LAST_PROJECT_COOKIE)?.value;
  const project = projects.find((p) => p.id === last) ?? projects[0]!;
  redirect(`/p/${project.id}/instances`);
}
