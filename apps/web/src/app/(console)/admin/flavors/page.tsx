import type { Metadata } from 'next';

import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { requireOperator } from '../require-operator';
import { AdminFlavors } from './admin-flavors';

export const metadata: Metadata = { title: 'Flavors · Admin' };

export default async function AdminFlavorsPage() {
  await requireOperator();
  prefetch(trpc.admin.flavors.queryOptions());
  return (
    <HydrateClient>
      <AdminFlavors />
    </HydrateClient>
  );
}
