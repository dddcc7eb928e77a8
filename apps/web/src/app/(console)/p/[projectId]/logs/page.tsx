import type { Metadata } from 'next';

import { PageHeader } from '~/components/ui/page';
import { ProjectPublishedLogs } from './project-published-logs';

export const metadata: Metadata = { title: 'Published logs' };

/** The project's published database logs, its deleted instances' too (issue 16 part 3). */
export default async function LogsPage({ params }: { params: Promise<{ projectId: string }> }) {
  const { projectId } = await params;
  return (
    <>
      <PageHeader
        title="Published logs"
        description="Database logs published from this project's instances to object storage, encrypted with the project's backup key, passwords masked. They stay when an instance is deleted. Publish one from an instance's Logs tab."
      />
      <ProjectPublishedLogs projectId={projectId} />
    </>
  );
}
