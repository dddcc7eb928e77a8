import { SubNav } from '~/components/console/sub-nav';
import { requireOperator } from './require-operator';

/** Operators only: anyone else gets a 404 for every admin page. */
export default async function AdminLayout({ children }: { children: React.ReactNode }) {
  await requireOperator();
  return (
    <>
      <SubNav
        label="Admin"
        items={[
          { href: '/admin', label: 'Instances', exact: true },
          { href: '/admin/queue', label: 'Queue' },
          { href: '/admin/projects', label: 'Projects & quotas' },
          { href: '/admin/flavors', label: 'Flavors' },
          { href: '/admin/audit', label: 'Audit log' },
        ]}
      />
      {children}
    </>
  );
}
