import { notFound } from 'next/navigation';
import { z } from 'zod';

import { LiveProject } from '~/components/console/live-project';
import { api } from '~/trpc/server';

/**
 * A project page exists only for its members: anyone else gets a 404, as for a missing project.
 * Every page of the project follows its change events through one live connection.
 */
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
  return (
    <LiveProject key={projectId} projectId={projectId}>
      {children}
    </LiveProject>
  );
}
