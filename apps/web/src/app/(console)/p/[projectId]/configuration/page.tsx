import type { Metadata } from 'next';

import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { ConfigurationGroupList } from './configuration-group-list';

export const metadata: Metadata = { title: 'Configuration groups' };

export default async function ConfigurationGroupsPage({
  params,
}: {
  params: Promise<{ projectId: string }>;
}) {
  const { projectId } = await params;
  prefetch(trpc.configuration.list.queryOptions({ projectId }));
  prefetch(trpc.project.get.queryOptions({ projectId }));
  return (
    <HydrateClient>
      <ConfigurationGroupList projectId={projectId} />
    </HydrateClient>
  );
}
