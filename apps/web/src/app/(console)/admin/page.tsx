import type { Metadata } from 'next';

import {
  adminInstancesInput,
  readAdminInstanceListParams,
  searchParamReader,
} from '~/lib/list-params';
import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { AdminInstances } from './admin-instances';
import { BusiestInstances } from './busiest-instances';
import { requireOperator } from './require-operator';
import { WorkerRoles } from './worker-roles';

export const metadata: Metadata = { title: 'Admin' };

/** Operators only: anyone else gets a 404. */
export default async function AdminPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  await requireOperator();
  // The page of the view the URL asks for: the same input the list queries.
  const view = readAdminInstanceListParams(searchParamReader(await searchParams));
  prefetch(trpc.admin.instances.queryOptions(adminInstancesInput(view)));
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
