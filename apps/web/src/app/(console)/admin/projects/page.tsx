import type { Metadata } from 'next';

import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { AdminProjects } from './admin-projects';

export const metadata: Metadata = { title: 'Projects · Admin' };

export default function AdminProjectsPage() {
  prefetch(trpc.admin.projects.queryOptions());
  return (
    <HydrateClient>
      <AdminProjects />
    </HydrateClient>
  );
}
