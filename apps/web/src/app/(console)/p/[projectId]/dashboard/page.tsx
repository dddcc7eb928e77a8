import type { Metadata } from 'next';

import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { ProjectDashboard } from './project-dashboard';

export const metadata: Metadata = { title: 'Dashboard' };

export default async function DashboardPage({
  params,
}: {
  params: Promise<{ projectId: string }>;
}) {
  const { projectId } = await params;
  prefetch(trpc.project.dashboard.queryOptions({ projectId }));
  prefetch(trpc.project.get.queryOptions({ projectId }));
  return (
    <HydrateClient>
      <ProjectDashboard projectId={projectId} />
    </HydrateClient>
  );
}
