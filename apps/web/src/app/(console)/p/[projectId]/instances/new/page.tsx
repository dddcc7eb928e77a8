import type { Metadata } from 'next';

import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { CreateInstanceForm } from './create-instance-form';

export const metadata: Metadata = { title: 'Create instance' };

export default async function NewInstancePage({
  params,
}: {
  params: Promise<{ projectId: string }>;
}) {
  const { projectId } = await params;
  prefetch(trpc.catalog.flavors.queryOptions());
  prefetch(trpc.catalog.datastoreVersions.queryOptions());
  return (
    <HydrateClient>
      <CreateInstanceForm projectId={projectId} />
    </HydrateClient>
  );
}
