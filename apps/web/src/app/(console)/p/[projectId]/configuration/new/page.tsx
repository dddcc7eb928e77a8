import type { Metadata } from 'next';

import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { NewConfigurationGroup } from './new-configuration-group';

export const metadata: Metadata = { title: 'Create configuration group' };

export default async function NewConfigurationGroupPage({
  params,
}: {
  params: Promise<{ projectId: string }>;
}) {
  const { projectId } = await params;
  prefetch(trpc.catalog.datastoreVersions.queryOptions());
  return (
    <HydrateClient>
      <NewConfigurationGroup projectId={projectId} />
    </HydrateClient>
  );
}
