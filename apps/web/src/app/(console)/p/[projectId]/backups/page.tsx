import type { Metadata } from 'next';

import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { ProjectBackups } from './project-backups';

export const metadata: Metadata = { title: 'Backups' };

export default async function BackupsPage({ params }: { params: Promise<{ projectId: string }> }) {
  const { projectId } = await params;
  prefetch(trpc.backup.list.queryOptions({ projectId }));
  prefetch(trpc.project.get.queryOptions({ projectId }));
  return (
    <HydrateClient>
      <ProjectBackups projectId={projectId} />
    </HydrateClient>
  );
}
