import { ShieldAlert } from 'lucide-react';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { z } from 'zod';

import { LiveProject } from '~/components/console/live-project';
import { api } from '~/trpc/server';

/**
 * A project page exists only for its members, and for operators (read-only, with a banner
 * saying so; the rule is `resolveProjectAccess` in server/tenancy.ts): anyone else gets a 404,
 * as for a missing project.
 * Every page of the project follows its change events through one live connection.
 */
export default async function ProjectLayout({
  children,
  params,
}: {
  children: React.ReactNode;
  params: Promise<{ projectId: string }>;
}) {
  const { projectId } = await params;
  if (!z.uuid().safeParse(projectId).success) notFound();
  let project;
  try {
    project = await api.project.get({ projectId });
  } catch {
    notFound();
  }
  return (
    <LiveProject key={projectId} projectId={projectId}>
      {project.access === 'operator' ? (
        <p
          role="status"
          className="mb-4 flex flex-wrap items-center gap-x-2 rounded-lg border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900"
        >
          <ShieldAlert className="size-4 shrink-0" aria-hidden />
          <span>
            <strong className="font-medium">Operator view</strong> of {project.name}: read-only, you
            are not a member of this project.
          </span>
          <Link href="/admin" className="font-medium underline underline-offset-2">
            Back to Admin
          </Link>
        </p>
      ) : null}
      {children}
    </LiveProject>
  );
}
