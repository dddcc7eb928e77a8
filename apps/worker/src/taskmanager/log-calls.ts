import { randomUUID } from 'node:crypto';

import {
  logLocation,
  publishedLogSchema,
  type PublishedLog,
  type TaskmanagerCallValue,
} from '@coffer/contracts';
import { createObjectStore } from '@coffer/objectstore';

import { sealBackupAccess } from '../backup/backup-store';
import { type CallContext, type Payload, refuse, withGuest } from './guest-calls';

/**
 * Database logs (issue 16 part 3; Trove's guest logs): each call asks the instance's guest,
 * which keeps the logs' state and masks passwords in what it returns. Publishing seals the
 * project's backup key and the store for the guest (as a backup does), under the instance's
 * own prefix of the store ({@link logLocation}), so a published copy outlives the instance;
 * the list of published copies is read from the store by prefix.
 */

/** The most published copies listed (the newest). */
const MAX_PUBLISHED_LISTED = 100;

type LogCall =
  'log.list' | 'log.set' | 'log.show' | 'log.download' | 'log.publish' | 'log.published';
type LogHandlers = {
  [N in LogCall]: (ctx: CallContext, payload: Payload<N>) => Promise<TaskmanagerCallValue<N>>;
};

function requireStore(ctx: CallContext) {
  if (!ctx.settings.backupStore) {
    refuse(
      'CONFLICT',
      'Publishing logs needs an object store, and none is configured on this Coffer.',
    );
  }
  return ctx.settings.backupStore;
}

export const logHandlers: LogHandlers = {
  'log.list': (ctx, { instanceId }) =>
    withGuest(ctx, instanceId, (guest, timeoutMs) => guest.call('list_logs', {}, { timeoutMs }), {
      isChange: false,
    }),
  'log.set': (ctx, { instanceId, name, enabled }) =>
    withGuest(
      ctx,
      instanceId,
      (guest, timeoutMs) => guest.call('set_log', { name, enabled }, { timeoutMs }),
      { isChange: false },
    ),
  'log.show': (ctx, { instanceId, ...params }) =>
    withGuest(
      ctx,
      instanceId,
      (guest, timeoutMs) => guest.call('show_log', params, { timeoutMs }),
      {
        isChange: false,
      },
    ),
  'log.download': (ctx, { instanceId, name }) =>
    withGuest(
      ctx,
      instanceId,
      (guest, timeoutMs) => guest.call('download_log', { name }, { timeoutMs }),
      { isChange: false },
    ),
  'log.publish': (ctx, { instanceId, name }) => {
    requireStore(ctx);
    return withGuest(
      ctx,
      instanceId,
      (guest, timeoutMs, row) => {
        const publishId = randomUUID();
        return guest.call(
          'publish_log',
          {
            name,
            publishId,
            location: logLocation(row.projectId, instanceId),
            ...sealBackupAccess(guest, ctx.settings, row.projectId, publishId),
          },
          { timeoutMs },
        );
      },
      { isChange: false },
    );
  },
  'log.published': async (ctx, { instanceId }) => {
    const config = requireStore(ctx);
    const row = await ctx.prisma.instance.findUnique({
      where: { id: instanceId },
      select: { projectId: true },
    });
    if (!row) refuse('NOT_FOUND', 'Instance not found');
    const store = createObjectStore(config);
    try {
      const objects = (await store.list(logLocation(row.projectId, instanceId)))
        .filter((object) => object.name.endsWith('.json'))
        .sort((a, b) => (a.name < b.name ? 1 : -1))
        .slice(0, MAX_PUBLISHED_LISTED);
      const published: PublishedLog[] = [];
      for (const object of objects) {
        const parsed = publishedLogSchema.safeParse(
          JSON.parse((await store.get(object.name)).toString('utf8')),
        );
        if (parsed.success) published.push(parsed.data);
      }
      return { published };
    } finally {
      await store.close();
    }
  },
};
