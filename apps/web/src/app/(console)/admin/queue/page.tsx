import type { Metadata } from 'next';

import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { requireOperator } from '../require-operator';
import { AdminQueue } from './admin-queue';

export const metadata: Metadata = { title: 'Queue · Admin' };

export default async function AdminQueuePage() {
  await requireOperator();
  prefetch(trpc.admin.queue.queryOptions());
  return (
    <HydrateClient>
      <AdminQueue />
    </HydrateClient>
  );
}
