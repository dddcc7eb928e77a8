import { notFound } from 'next/navigation';

import { SubNav } from '~/components/console/sub-nav';
import { api } from '~/trpc/server';

/** Operators only: anyone else gets a 404 for every admin page. */
export default async function AdminLayout({ children }: { children: React.ReactNode }) {
  const me = await api.viewer.me();
  if (!me.isOperator) notFound();
  return (
    <>
      <SubNav
        label="Admin"
        items={[
          { href: '/admin', label: 'Instances', exact: true },
          { href: '/admin/queue', label: 'Queue' },
          { href: '/admin/projects', label: 'Projects & quotas' },
          { href: '/admin/audit', label: 'Audit log' },
        ]}
      />
      {children}
    </>
  );
}
