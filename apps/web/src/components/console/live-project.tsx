'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { usePathname } from 'next/navigation';
import { createContext, useContext, useEffect, useRef, useState } from 'react';

import type { ProjectChange } from '~/server/api/routers/live';
import { useTRPC } from '~/trpc/react';
import { describeQuery, LiveRefresher } from './live-refresh';

/**
 * Live status, once per project: one SSE connection (`live.onProjectChange`) serves every
 * view of the project's pages, and views never subscribe themselves: they only query. Each
 * change event has what it touches re-read (the project's instance queries for an
 * instance's change, its backup queries for a backup's) by every view on screen at once:
 * an instance's header, its tabs, the lists. On every (re)connect, and after a navigation
 * while something changed, everything live is re-read.
 */

type Listener = (change: ProjectChange) => void;

const ListenersContext = createContext<Set<Listener> | null>(null);

/**
 * The query groups change events touch (never the calls that go to a guest: databases, users,
 * root, an instance's effective configuration). An instance's change may be its configuration
 * group's apply report (and an attach or detach changes a group's instances). Every change
 * may have added to the event timeline. A new metrics sample re-reads the charts, sparklines
 * and alerts (`metrics.*`, `alerts.*`).
 */
const TOUCHES: Record<ProjectChange['type'], string[]> = {
  resync: ['instance', 'backup', 'quota', 'configuration', 'timeline', 'metrics', 'alerts'],
  'instance.changed': ['instance', 'quota', 'configuration', 'timeline'],
  'instance.deleted': ['instance', 'quota', 'configuration', 'timeline', 'metrics', 'alerts'],
  'instance.metrics': ['metrics', 'alerts'],
  'backup.changed': ['backup', 'quota', 'timeline'],
  'backup.deleted': ['backup', 'quota', 'timeline'],
};

/** The project's dashboard reads instances, alerts, quotas and the timeline at once: every change touches it. */
const DASHBOARD = 'project.dashboard';

/** Queries of a touched group that ask a guest (through the taskmanager): re-read by their views only. */
const GUEST_CALLS = new Set(['configuration.effective']);

export function LiveProject({
  projectId,
  children,
}: {
  projectId: string;
  children: React.ReactNode;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [listeners] = useState(() => new Set<Listener>());
  const [refresher] = useState(
    () =>
      new LiveRefresher(queryClient, (query, group) => {
        const { path, input } = describeQuery(query);
        return (
          (path[0] === group || path.join('.') === group) &&
          input.projectId === projectId &&
          !GUEST_CALLS.has(path.join('.'))
        );
      }),
  );
  const hasChangedSinceResync = useRef(false);

  useSubscription(
    trpc.live.onProjectChange.subscriptionOptions(
      { projectId },
      {
        onData: (change) => {
          hasChangedSinceResync.current = change.type !== 'resync';
          refresher.refresh([...TOUCHES[change.type], DASHBOARD]);
          for (const listener of listeners) listener(change);
        },
      },
    ),
  );

  // A page reached by navigation shows what the server read for it, which may predate a
  // change that arrived while the page was on its way: read again once it is shown.
  const pathname = usePathname();
  useEffect(() => {
    if (!hasChangedSinceResync.current) return;
    hasChangedSinceResync.current = false;
    refresher.refresh([...TOUCHES.resync, DASHBOARD]);
  }, [pathname, refresher]);

  return <ListenersContext.Provider value={listeners}>{children}</ListenersContext.Provider>;
}

/** Calls `listener` on every change event of the project (for what a re-read cannot do, such as leaving a deleted instance's page). */
export function useProjectChanges(listener: Listener): void {
  const listeners = useContext(ListenersContext);
  const latest = useRef(listener);
  useEffect(() => {
    latest.current = listener;
  });
  useEffect(() => {
    if (!listeners) return;
    const call: Listener = (change) => latest.current(change);
    listeners.add(call);
    return () => {
      listeners.delete(call);
    };
  }, [listeners]);
}
