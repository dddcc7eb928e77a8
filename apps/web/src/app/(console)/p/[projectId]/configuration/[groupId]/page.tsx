import type { Metadata } from 'next';

import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { ConfigurationGroupDetail } from './configuration-group-detail';

export const metadata: Metadata = { title: 'Configuration group' };

export default async function ConfigurationGroupPage({
  params,
}: {
  params: Promise<{ projectId: string; groupId: string }>;
}) {
  const { projectId, groupId } = await params;
  prefetch(trpc.configuration.get.queryOptions({ projectId, id: groupId }));
  prefetch(trpc.project.get.queryOptions({ projectId }));
  return (
    <HydrateClient>
      <ConfigurationGroupDetail projectId={projectId} groupId={groupId} />
    </HydrateClient>
  );
}
