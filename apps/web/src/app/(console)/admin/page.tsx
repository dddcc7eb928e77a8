import type { Metadata } from 'next';

import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { AdminInstances } from './admin-instances';
import { requireOperator } from './require-operator';

export const metadata: Metadata = { title: 'Admin' };

/** Operators only: anyone else gets a 404. */
export default async function AdminPage() {
  await requireOperator();
  prefetch(trpc.admin.instances.queryOptions());
  return (
    <HydrateClient>
      <AdminInstances />
    </HydrateClient>
  );
}
