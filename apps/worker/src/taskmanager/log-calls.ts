import { createDecipheriv, createHash, randomUUID } from 'node:crypto';

import {
  backupChunkAad,
  logLocation,
  publishedLogInstance,
  publishedLogSchema,
  type ProjectPublishedLog,
  type PublishedLog,
  type TaskmanagerCallValue,
} from '@coffer/contracts';
import { projectBackupKey } from '@coffer/contracts/crypto';
import { createObjectStore, type ObjectStore } from '@coffer/objectstore';

import { sealBackupAccess } from '../backup/backup-store';
import { type CallContext, type Payload, refuse, withGuest } from './guest-calls';

/**
 * Database logs (issue 16 part 3; Trove's guest logs): each call asks the instance's guest,
 * which keeps the logs' state and masks passwords in what it returns. Publishing seals the
 * project's backup key and the store for the guest (as a backup does), under the instance's
 * own prefix of the store ({@link logLocation}), so a published copy outlives the instance;
 * the list of published copies is read from the store by prefix, and a copy is opened here
 * with the project's key (no guest needed: the instance may be gone).
 */

/** The most published copies listed (the newest). */
const MAX_PUBLISHED_LISTED = 100;

type LogCall =
  | 'log.list'
  | 'log.set'
  | 'log.show'
  | 'log.download'
  | 'log.publish'
  | 'log.published'
  | 'log.projectPublished'
  | 'log.openPublished';
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

/** The published copies' descriptions under a prefix, newest first. */
async function readPublished(store: ObjectStore, prefix: string): Promise<PublishedLog[]> {
  const objects = (await store.list(prefix))
    .filter((object) => object.name.endsWith('.json'))
    .sort((a, b) => (a.name < b.name ? 1 : -1))
    .slice(0, MAX_PUBLISHED_LISTED);
  const published: PublishedLog[] = [];
  for (const object of objects) {
    let json: unknown;
    try {
      json = JSON.parse((await store.get(object.name)).toString('utf8'));
    } catch {
      continue;
    }
    const parsed = publishedLogSchema.safeParse(json);
    // Only a description of its own place: one naming another object is ignored.
    if (parsed.success && parsed.data.object === object.name.replace(/\.json$/, '.log.enc')) {
      published.push(parsed.data);
    }
  }
  return published;
}

export const logHandlers: LogHandlers = {
  'log.list': (ctx, { instanceId }) =>
    withGuest(ctx, instanceId, (guest, timeoutMs) => guest.call('list_logs', {}, { timeoutMs }), {
      isChange: false,
    }),
  'log.set': (ctx, { instanceId, ...params }) =>
    withGuest(ctx, instanceId, (guest, timeoutMs) => guest.call('set_log', params, { timeoutMs }), {
      isChange: false,
    }),
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
  'log.publish': (ctx, { instanceId, name, instanceName }) => {
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
            ...(instanceName ? { instanceName } : {}),
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
      return { published: await readPublished(store, logLocation(row.projectId, instanceId)) };
    } finally {
      await store.close();
    }
  },
  'log.projectPublished': async (ctx, { projectId }) => {
    // Without an object store nothing was ever published.
    if (!ctx.settings.backupStore) return { published: [] };
    const store = createObjectStore(ctx.settings.backupStore);
    try {
      const published: ProjectPublishedLog[] = [];
      for (const copy of await readPublished(store, `logs/${projectId}/`)) {
        const instanceId = publishedLogInstance(projectId, copy.object);
        if (instanceId) published.push({ ...copy, instanceId });
      }
      return { published };
    } finally {
      await store.close();
    }
  },
  'log.openPublished': async (ctx, { projectId, object }) => {
    const config = requireStore(ctx);
    if (!object.endsWith('.log.enc') || publishedLogInstance(projectId, object) === null) {
      refuse('NOT_FOUND', 'Published log not found');
    }
    const store = createObjectStore(config);
    try {
      let description: unknown;
      let stored: Buffer;
      try {
        description = JSON.parse(
          (await store.get(object.replace(/\.log\.enc$/, '.json'))).toString('utf8'),
        );
        stored = await store.get(object);
      } catch {
        refuse('NOT_FOUND', 'Published log not found');
      }
      const parsed = publishedLogSchema.safeParse(description);
      if (!parsed.success || parsed.data.object !== object) {
        refuse('NOT_FOUND', 'Published log not found');
      }
      const published = parsed.data;
      if (createHash('sha256').update(stored).digest('hex') !== published.sha256) {
        refuse('CONFLICT', 'The published log is damaged in the object store');
      }
      const decipher = createDecipheriv(
        'aes-256-gcm',
        projectBackupKey(ctx.settings.masterKey, projectId),
        Buffer.from(published.iv, 'base64'),
      );
      decipher.setAAD(Buffer.from(backupChunkAad(published.publishId, 0)));
      decipher.setAuthTag(Buffer.from(published.tag, 'base64'));
      let text: string;
      try {
        text = Buffer.concat([decipher.update(stored), decipher.final()]).toString('utf8');
      } catch {
        refuse('CONFLICT', "The published log does not open with the project's key");
      }
      return { published, text };
    } finally {
      await store.close();
    }
  },
};
