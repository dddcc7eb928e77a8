import { SubNav } from '~/components/console/sub-nav';
import { PageHeader } from '~/components/ui/page';
import { api } from '~/trpc/server';

/** Project settings: usage and quotas, API tokens, and (for owners) the audit log. */
export default async function SettingsLayout({
  children,
  params,
}: {
  children: React.ReactNode;
  params: Promise<{ projectId: string }>;
}) {
  const { projectId } = await params;
  const project = await api.project.get({ projectId });
  const base = `/p/${projectId}/settings`;
  return (
    <>
      <PageHeader
        title="Settings"
        description={`Quotas, API tokens and the audit log of ${project.name}.`}
      />
      <SubNav
        label="Settings"
        items={[
          { href: base, label: 'Usage & quotas', exact: true },
          { href: `${base}/tokens`, label: 'API tokens' },
          ...(project.role === 'OWNER' ? [{ href: `${base}/audit`, label: 'Audit log' }] : []),
        ]}
      />
      {children}
    </>
  );
}
