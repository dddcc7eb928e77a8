import { Archive } from 'lucide-react';
import type { Metadata } from 'next';

import { EmptyState, PageHeader } from '~/components/ui/page';

export const metadata: Metadata = { title: 'Backups' };

export default function BackupsPage() {
  return (
    <>
      <PageHeader title="Backups" description="Encrypted backups of this project's instances, in object storage." />
      <EmptyState
        icon={<Archive />}
        title="No backups yet"
        description="Backups of this project's instances will be listed here, with their type, size and status."
      />
    </>
  );
}
