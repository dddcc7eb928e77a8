import type { Metadata } from 'next';

import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { InstanceList } from './instance-list';

export const metadata: Metadata = { title: 'Instances' };

export default async function InstancesPage({
  params,
}: {
  params: Promise<{ projectId: string }>;
}) {
  const { projectId } = await params;
  prefetch(trpc.instance.list.queryOptions({ projectId }));
  prefetch(trpc.project.get.queryOptions({ projectId }));
  return (
    <HydrateClient>
      <InstanceList projectId={projectId} />
    </HydrateClient>
  );
}
