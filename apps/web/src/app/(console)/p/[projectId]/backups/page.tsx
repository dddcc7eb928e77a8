import type { Metadata } from 'next';

import { backupPageInput, readBackupListParams, searchParamReader } from '~/lib/list-params';
import { HydrateClient, prefetch, trpc } from '~/trpc/server';
import { ProjectBackups } from './project-backups';

export const metadata: Metadata = { title: 'Backups' };

export default async function BackupsPage({
  params,
  searchParams,
}: {
  params: Promise<{ projectId: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { projectId } = await params;
  // The page of the view the URL asks for: the same input the list queries.
  const view = readBackupListParams(searchParamReader(await searchParams));
  prefetch(trpc.backup.listPage.queryOptions(backupPageInput(projectId, view)));
  prefetch(trpc.project.get.queryOptions({ projectId }));
  return (
    <HydrateClient>
      <ProjectBackups projectId={projectId} />
    </HydrateClient>
  );
}
