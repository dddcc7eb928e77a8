import type { Metadata } from 'next';

import { instancePageInput, readInstanceListParams, searchParamReader } from '~/lib/list-params';
import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { InstanceList } from './instance-list';

export const metadata: Metadata = { title: 'Instances' };

export default async function InstancesPage({
  params,
  searchParams,
}: {
  params: Promise<{ projectId: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { projectId } = await params;
  // The page of the view the URL asks for: the same input the list queries.
  const view = readInstanceListParams(searchParamReader(await searchParams));
  prefetch(trpc.instance.listPage.queryOptions(instancePageInput(projectId, view)));
  prefetch(trpc.project.get.queryOptions({ projectId }));
  return (
    <HydrateClient>
      <InstanceList projectId={projectId} />
    </HydrateClient>
  );
}
