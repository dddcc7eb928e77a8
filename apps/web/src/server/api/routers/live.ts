import { createTRPCRouter, projectProcedure } from '~/server/api/trpc';
import { changeFeed } from '~/server/events';

/**
 * What the console's one live connection per project carries: `resync` first (on every
 * connect and reconnect: whatever the browser holds may be older than this), then which
 * instance or backup of the project changed, in the order the changes were published.
 * Ids only: every view re-reads what it shows through its own project-scoped query.
 */
export type ProjectChange =
  | { type: 'resync' }
  | { type: 'instance.changed' | 'instance.deleted'; instanceId: string }
  /** A new metrics sample of the instance was stored: charts re-read (`metrics.*`). */
  | { type: 'instance.metrics'; instanceId: string }
  | { type: 'backup.changed' | 'backup.deleted'; instanceId: string; backupId: string };

export const liveRouter = createTRPCRouter({
  /**
   * Every change event of this project, over SSE: the one source all views of the console
   * follow (an instance's header and tabs, the lists). Other projects' events are dropped here.
   */
  onProjectChange: projectProcedure.subscription(async function* ({ ctx, signal }) {
    // Listening starts before `resync` is sent, so nothing published after it is missed.
    const events = changeFeed.listen(signal);
    const resync: ProjectChange = { type: 'resync' };
    yield resync;
    for await (const event of events) {
      if (event.projectId !== ctx.project.id) continue;
      let change: ProjectChange;
      if (
        event.type === 'instance.changed' ||
        event.type === 'instance.deleted' ||
        event.type === 'instance.metrics'
      ) {
        change = { type: event.type, instanceId: event.instanceId };
      } else if (event.backupId) {
        change = { type: event.type, instanceId: event.instanceId, backupId: event.backupId };
      } else {
        continue;
      }
      yield change;
    }
  }),
});
