import { notFound } from 'next/navigation';
import { z } from 'zod';

import { api } from '~/trpc/server';

/** A project page exists only for its members: anyone else gets a 404, as for a missing project. */
export default async function ProjectLayout({
  children,
  params,
}: {
  children: React.ReactNode;
  params: Promise<{ projectId: string }>;
}) {
  const { projectId } = await params;
  if (!z.uuid().safeParse(projectId).success) notFound();
  try {
    await api.project.get({ projectId });
  } catch {
    notFound();
  }
  return children;
}
