import type { Metadata } from 'next';

import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { QuotaUsage } from './quota-usage';

export const metadata: Metadata = { title: 'Usage & quotas' };

export default async function SettingsPage({ params }: { params: Promise<{ projectId: string }> }) {
  const { projectId } = await params;
  prefetch(trpc.quota.get.queryOptions({ projectId }));
  return (
    <HydrateClient>
      <QuotaUsage projectId={projectId} />
    </HydrateClient>
  );
}
