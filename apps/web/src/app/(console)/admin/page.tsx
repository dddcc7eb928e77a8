import type { Metadata } from 'next';
import { notFound } from 'next/navigation';

import { api, HydrateClient, prefetch, trpc } from '~/trpc/server';
import { AdminInstances } from './admin-instances';

export const metadata: Metadata = { title: 'Admin' };

/** Operators only: anyone else gets a 404. */
export default async function AdminPage() {
  const me = await api.viewer.me();
  if (!me.isOperator) notFound();
  prefetch(trpc.admin.instances.queryOptions());
  return (
    <HydrateClient>
      <AdminInstances />
    </HydrateClient>
  );
}
