import { type Query, type QueryClient } from '@tanstack/react-query';

/**
 * Re-reads queries after change events, by group ('instance', 'backup', …), so that what a
 * view shows is never older than the last event it was told of, soon, and never starves:
 *
 * - an event that arrives while a re-read of its group runs restarts it (that read may have
 *   been made before the change the event announces was committed), so the views follow
 *   within one read;
 * - but a restarted re-read is not cancelled again: later events wait for it to finish and
 *   make exactly one more after it. Under a stream of events faster than a read, cancelling
 *   each read would mean no view ever updates.
 *
 * The last word is always a read that started after the last event.
 */
export class LiveRefresher {
  private readonly runs = new Map<string, { isRestart: boolean; token: number }>();
  private readonly pending = new Set<string>();
  private lastToken = 0;

  constructor(
    private readonly queryClient: QueryClient,
    private readonly isInGroup: (query: Query, group: string) => boolean,
  ) {}

  refresh(groups: Iterable<string>): void {
    for (const group of groups) {
      const run = this.runs.get(group);
      if (!run) this.start(group, false);
      else if (!run.isRestart) this.start(group, true);
      else this.pending.add(group);
    }
  }

  private start(group: string, isRestart: boolean): void {
    const token = ++this.lastToken;
    this.runs.set(group, { isRestart, token });
    this.pending.delete(group);
    // Marks every query of the group stale and re-reads those on screen (the others when next
    // shown), cancelling reads of them under way.
    void this.queryClient
      .invalidateQueries(
        { predicate: (query) => this.isInGroup(query, group) },
        { cancelRefetch: true },
      )
      .catch(() => undefined)
      .finally(() => {
        if (this.runs.get(group)?.token !== token) return;
        this.runs.delete(group);
        if (this.pending.has(group)) this.start(group, false);
      });
  }
}

/** The path and input of a tRPC query key (`[path, { input, type }]`). */
export function describeQuery(query: Query): { path: string[]; input: Record<string, unknown> } {
  const [path, meta] = query.queryKey as [unknown, { input?: unknown } | undefined];
  return {
    path: Array.isArray(path) ? path.map(String) : [],
    input:
      typeof meta?.input === 'object' && meta.input !== null
        ? (meta.input as Record<string, unknown>)
        : {},
  };
}
