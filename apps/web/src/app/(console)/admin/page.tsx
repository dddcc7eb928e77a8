import type { Metadata } from 'next';

import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { AdminInstances } from './admin-instances';
import { BusiestInstances } from './busiest-instances';
import { requireOperator } from './require-operator';
import { WorkerRoles } from './worker-roles';

export const metadata: Metadata = { title: 'Admin' };

/** Operators only: anyone else gets a 404. */
export default async function AdminPage() {
  await requireOperator();
  prefetch(trpc.admin.instances.queryOptions());
  prefetch(trpc.admin.workerRoles.queryOptions());
  prefetch(trpc.metrics.busiest.queryOptions({ limit: 10 }));
  return (
    <HydrateClient>
      <AdminInstances />
      <BusiestInstances />
      <WorkerRoles />
    </HydrateClient>
  );
}
