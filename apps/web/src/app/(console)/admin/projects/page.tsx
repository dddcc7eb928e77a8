import type { Metadata } from 'next';

import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { requireOperator } from '../require-operator';
import { AdminProjects } from './admin-projects';

export const metadata: Metadata = { title: 'Projects · Admin' };

export default async function AdminProjectsPage() {
  await requireOperator();
  prefetch(trpc.admin.projects.queryOptions());
  return (
    <HydrateClient>
      <AdminProjects />
    </HydrateClient>
  );
}
