import type { Metadata } from 'next';

import { TimelinePanel } from '~/components/timeline/timeline-panel';
import { PageHeader } from '~/components/ui/page';

export const metadata: Metadata = { title: 'Events' };

/** The project's event timeline: every instance's status changes, tasks, faults, backups, … and who caused them, live. */
export default async function EventsPage({ params }: { params: Promise<{ projectId: string }> }) {
  const { projectId } = await params;
  return (
    <>
      <PageHeader
        title="Events"
        description="What happened to this project's instances, newest first, and who caused it: a user, an API token, Coffer itself or an instance's guest agent."
      />
      <TimelinePanel projectId={projectId} />
    </>
  );
}
