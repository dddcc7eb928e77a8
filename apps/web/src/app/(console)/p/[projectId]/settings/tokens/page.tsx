import type { Metadata } from 'next';

import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { ApiTokens } from './api-tokens';

export const metadata: Metadata = { title: 'API tokens' };

export default async function ApiTokensPage({
  params,
}: {
  params: Promise<{ projectId: string }>;
}) {
  const { projectId } = await params;
  prefetch(trpc.apiToken.list.queryOptions({ projectId }));
  prefetch(trpc.project.get.queryOptions({ projectId }));
  return (
    <HydrateClient>
      <ApiTokens projectId={projectId} />
    </HydrateClient>
  );
}
