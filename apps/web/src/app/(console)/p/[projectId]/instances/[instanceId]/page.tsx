import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { z } from 'zod';

import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { InstanceDetail } from './instance-detail';

export const metadata: Metadata = { title: 'Instance' };

export default async function InstancePage({
  params,
  searchParams,
}: {
  params: Promise<{ projectId: string; instanceId: string }>;
  searchParams: Promise<{ user?: string }>;
}) {
  const { projectId, instanceId } = await params;
  const { user } = await searchParams;
  if (!z.uuid().safeParse(instanceId).success) notFound();
  prefetch(trpc.instance.get.queryOptions({ projectId, instanceId }));
  prefetch(trpc.project.get.queryOptions({ projectId }));
  return (
    <HydrateClient>
      <InstanceDetail
        projectId={projectId}
        instanceId={instanceId}
        initialUser={typeof user === 'string' ? user : ''}
      />
    </HydrateClient>
  );
}
