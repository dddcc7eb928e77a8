'use client';

import { ChevronsUpDown, Plus } from 'lucide-react';
import Link from 'next/link';
import { useEffect, useRef, useState } from 'react';

import { ROLE_LABELS } from '~/lib/schemas';
import { cn } from '~/lib/utils';

export interface ProjectSummary {
  id: string;
  name: string;
  role: 'OWNER' | 'MEMBER' | 'VIEWER';
}

/** Switches between the user's projects (a menu button; Escape or a click outside closes it). */
export function ProjectSwitcher({
  projects,
  current,
}: {
  projects: ProjectSummary[];
  current: ProjectSummary | null;
}) {
  const [isOpen, setIsOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!isOpen) return;
    const onClick = (event: MouseEvent) => {
      if (!ref.current?.contains(event.target as Node)) setIsOpen(false);
    };
    const onKey = (event: KeyboardEvent) => event.key === 'Escape' && setIsOpen(false);
    document.addEventListener('mousedown', onClick);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onClick);
      document.removeEventListener('keydown', onKey);
    };
  }, [isOpen]);

  return (
    <div className="relative min-w-0" ref={ref}>
      <button
        type="button"
        aria-haspopup="menu"
        aria-expanded={isOpen}
        aria-label="Switch project"
        onClick={() => setIsOpen((open) => !open)}
        className="flex max-w-full items-center gap-2 rounded-md px-2 py-1.5 text-sm font-medium text-zinc-800 hover:bg-zinc-100"
      >
        <span className="max-w-48 truncate">{current?.name ?? 'Select a project'}</span>
        {current ? (
          <span className="hidden text-xs font-normal text-zinc-500 sm:inline">
            {ROLE_LABELS[current.role]}
          </span>
        ) : null}
        <ChevronsUpDown className="size-4 shrink-0 text-zinc-400" aria-hidden="true" />
      </button>
      {isOpen ? (
        <div
          role="menu"
          aria-label="Projects"
          className="absolute left-0 mt-1 w-64 max-w-[calc(100vw-2rem)] rounded-md border border-zinc-200 bg-white py-1 shadow-lg"
        >
          {projects.map((project) => (
            <Link
              key={project.id}
              role="menuitem"
              href={`/p/${project.id}/instances`}
              onClick={() => setIsOpen(false)}
              className={cn(
                'flex items-center justify-between px-3 py-2 text-sm hover:bg-zinc-50',
                project.id === current?.id ? 'font-medium text-accent-700' : 'text-zinc-700',
              )}
            >
              <span className="truncate">{project.name}</span>
              <span className="text-xs text-zinc-400">{ROLE_LABELS[project.role]}</span>
            </Link>
          ))}
          <div className="my-1 border-t border-zinc-100" />
          <Link
            role="menuitem"
            href="/projects/new"
            onClick={() => setIsOpen(false)}
            className="flex items-center gap-2 px-3 py-2 text-sm text-zinc-700 hover:bg-zinc-50"
          >
            <Plus className="size-4" aria-hidden="true" />
            New project
          </Link>
        </div>
      ) : null}
    </div>
  );
}
