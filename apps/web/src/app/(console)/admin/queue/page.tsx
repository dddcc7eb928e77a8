import type { Metadata } from 'next';

import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { AdminQueue } from './admin-queue';

export const metadata: Metadata = { title: 'Queue · Admin' };

export default function AdminQueuePage() {
  prefetch(trpc.admin.queue.queryOptions());
  return (
    <HydrateClient>
      <AdminQueue />
    </HydrateClient>
  );
}
