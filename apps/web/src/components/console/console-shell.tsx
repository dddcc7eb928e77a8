'use client';

import {
  Archive,
  FileText,
  History,
  LayoutDashboard,
  Server,
  Settings,
  Shield,
  SlidersHorizontal,
  Users,
} from 'lucide-react';
import Link from 'next/link';
import { useParams, usePathname } from 'next/navigation';
import { useQuery } from '@tanstack/react-query';
import { useEffect } from 'react';

import { LAST_PROJECT_COOKIE } from '~/lib/constants';
import { useTRPC } from '~/trpc/react';

import { Logo } from './logo';
import { NavLink } from './nav-link';
import { ProjectSwitcher, type ProjectSummary } from './project-switcher';
import { MAIN_ID, SkipLink } from './skip-link';
import { UserMenu } from './user-menu';

interface Me {
  id: string;
  email: string;
  name: string;
  isOperator: boolean;
}

/** The signed-in frame: header with project switcher and user, navigation for the project. */
export function ConsoleShell({
  me,
  projects,
  children,
}: {
  me: Me;
  projects: ProjectSummary[];
  children: React.ReactNode;
}) {
  const params = useParams<{ projectId?: string }>();
  const pathname = usePathname();
  const projectId = params.projectId;
  const membership = projects.find((p) => p.id === projectId) ?? null;
  // An operator in a project they are not a member of (read-only): its name and pages all the same.
  const trpc = useTRPC();
  const visited = useQuery({
    ...trpc.project.get.queryOptions({ projectId: projectId ?? '' }),
    enabled: me.isOperator && !!projectId && !membership,
  });
  const current: ProjectSummary | null =
    membership ??
    (visited.data && visited.data.id === projectId
      ? { id: visited.data.id, name: visited.data.name, role: visited.data.role }
      : null);

  useEffect(() => {
    if (projectId)
      document.cookie = `${LAST_PROJECT_COOKIE}=${projectId}; path=/; max-age=31536000; samesite=lax`;
  }, [projectId]);

  const nav = [
    ...(current
      ? [
          { href: `/p/${current.id}/dashboard`, label: 'Dashboard', icon: LayoutDashboard },
          { href: `/p/${current.id}/instances`, label: 'Instances', icon: Server },
          { href: `/p/${current.id}/backups`, label: 'Backups', icon: Archive },
          { href: `/p/${current.id}/events`, label: 'Events', icon: History },
          { href: `/p/${current.id}/logs`, label: 'Logs', icon: FileText },
          {
            href: `/p/${current.id}/configuration`,
            label: 'Configuration',
            icon: SlidersHorizontal,
          },
          { href: `/p/${current.id}/members`, label: 'Members', icon: Users },
          { href: `/p/${current.id}/settings`, label: 'Settings', icon: Settings },
        ]
      : []),
    ...(me.isOperator ? [{ href: '/admin', label: 'Admin', icon: Shield }] : []),
  ];

  return (
    <div className="min-h-screen">
      <SkipLink />
      <header className="sticky top-0 z-20 border-b border-zinc-200 bg-white/90 backdrop-blur">
        <div className="mx-auto flex h-14 max-w-6xl items-center gap-4 px-4">
          <Link href="/" aria-label="Coffer home">
            <Logo />
          </Link>
          <span className="text-zinc-300" aria-hidden="true">
            /
          </span>
          <ProjectSwitcher projects={projects} current={current} />
          <div className="ml-auto">
            <UserMenu me={me} />
          </div>
        </div>
        <nav aria-label="Main" className="mx-auto flex max-w-6xl gap-1 overflow-x-auto px-3">
          {nav.map((item) => {
            const isActive = pathname.startsWith(item.href);
            const Icon = item.icon;
            return (
              <NavLink
                key={item.href}
                href={item.href}
                isActive={isActive}
                className="flex items-center gap-1.5 py-2.5 [&_svg]:size-4"
              >
                <Icon aria-hidden="true" />
                {item.label}
              </NavLink>
            );
          })}
        </nav>
      </header>
      <main id={MAIN_ID} tabIndex={-1} className="mx-auto max-w-6xl px-4 py-8 outline-none">
        {children}
      </main>
    </div>
  );
}
