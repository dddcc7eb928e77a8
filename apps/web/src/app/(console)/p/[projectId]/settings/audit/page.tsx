import type { Metadata } from 'next';
import { notFound } from 'next/navigation';

import { api } from '~/trpc/server';
import { ProjectAuditLog } from './project-audit-log';

export const metadata: Metadata = { title: 'Audit log' };

/** Owners only: anyone else gets a 404. */
export default async function AuditPage({ params }: { params: Promise<{ projectId: string }> }) {
  const { projectId } = await params;
  const project = await api.project.get({ projectId });
  if (project.role !== 'OWNER') notFound();
  return <ProjectAuditLog projectId={projectId} />;
}
