import 'server-only';

import { AppError } from '@coffer/contracts';
import { type Prisma, type PrismaClient } from '@coffer/db';
import { z } from 'zod';

import { type ProjectScopedDb } from '~/server/tenancy';
import { displayPrefixOf } from '~/server/services/api-token/token-secret';
import {
  describeRequest,
  describeStatusChange,
  eventKindsOf,
  requestPathsOf,
  timelineKindOfEvent,
} from './timeline-kinds';
import { timelineKindSchema, timelineKinds } from '~/lib/timeline-kinds';

/**
 * The event timeline of an instance or of a whole project, newest first: what happened
 * (instance_events: every status change, fault, backup, restore, resize, configuration and
 * replication change, recorded by the database's triggers whichever process made it, and what
 * the guest and the watchdog report) merged with what was asked (audit_events: each request
 * that changes an instance, with the user or API token behind it). Read through the
 * project-scoped client: another project's instance is "not found", its entries never show.
 *
 * Pages are cut by a cursor over the order (time, source, id), so entries recorded while a
 * tenant reads never shift a page; each source is read up to one page past the cursor and the
 * two are merged.
 */

export const TIMELINE_PAGE_SIZE = 50;

const pageFields = {
  /** Only entries of these kinds (all without). */
  kinds: z.array(timelineKindSchema).min(1).max(timelineKinds.length).optional(),
  /** The previous page's `nextCursor`. */
  cursor: z.string().max(120).nullish(),
  limit: z.number().int().min(1).max(100).default(TIMELINE_PAGE_SIZE),
};
export const projectTimelineInput = z.object(pageFields);
export const instanceTimelineInput = z.object({
  instanceId: z.uuid({ error: 'Instance not found' }),
  ...pageFields,
});

export const timelineActorSchema = z.object({
  type: z.enum(['user', 'api_token', 'system', 'guest']),
  /** The user's email, the token's name and prefix, the process ("taskmanager"), or "guest agent". */
  name: z.string(),
  /** The user behind an API token. */
  email: z.string().nullable(),
});
export type TimelineActor = z.infer<typeof timelineActorSchema>;

export const timelineEntrySchema = z.object({
  /** Unique across the timeline: "event:<id>" or "request:<id>". */
  id: z.string(),
  at: z.date(),
  kind: timelineKindSchema,
  summary: z.string(),
  actor: timelineActorSchema,
  /** The instance it is about (null: a request about a configuration group, not one instance). */
  instance: z.object({ id: z.string(), name: z.string() }).nullable(),
});
export type TimelineEntry = z.infer<typeof timelineEntrySchema>;

export const timelinePageSchema = z.object({
  entries: z.array(timelineEntrySchema),
  nextCursor: z.string().nullable(),
});
export type TimelinePage = z.infer<typeof timelinePageSchema>;

type Input = Omit<z.output<typeof instanceTimelineInput>, 'instanceId'> & {
  instanceId?: string;
};

/** Where an entry stands in the order: newer first, then requests after events of the same millisecond, then by id. */
interface Position {
  at: number;
  /** 1: an instance event, 0: a request. */
  rank: 0 | 1;
  id: string;
}

function encodeCursor(position: Position): string {
  return `${position.at}.${position.rank}.${position.id}`;
}

const CURSOR_PATTERN = /^(\d{1,15})\.([01])\.([0-9a-f-]{36})$/;

function decodeCursor(cursor: string): Position {
  const match = CURSOR_PATTERN.exec(cursor);
  if (!match) throw new AppError('BAD_REQUEST', 'The cursor is not one this timeline gave');
  return { at: Number(match[1]), rank: Number(match[2]) as 0 | 1, id: match[3]! };
}

/** The rows of a source (of `rank`) that come after `cursor` in the order. */
function after(cursor: Position | null, rank: 0 | 1) {
  if (!cursor) return {};
  const at = new Date(cursor.at);
  if (rank < cursor.rank) return { createdAt: { lte: at } };
  if (rank > cursor.rank) return { createdAt: { lt: at } };
  return { OR: [{ createdAt: { lt: at } }, { createdAt: at, id: { lt: cursor.id } }] };
}

function comparePositions(a: Position, b: Position): number {
  if (a.at !== b.at) return b.at - a.at;
  if (a.rank !== b.rank) return b.rank - a.rank;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

const GUEST: TimelineActor = { type: 'guest', name: 'guest agent', email: null };

function actorOfEvent(row: { actor: string; guestSeq: bigint | null }): TimelineActor {
  if (row.actor === 'guest' || row.guestSeq !== null) return GUEST;
  return { type: 'system', name: row.actor, email: null };
}

export async function listTimeline(db: ProjectScopedDb, input: Input): Promise<TimelinePage> {
  const cursor = input.cursor ? decodeCursor(input.cursor) : null;
  const take = input.limit + 1;

  let backupIds: string[] = [];
  if (input.instanceId) {
    const instance = await db.instance.findFirst({
      where: { id: input.instanceId, deletedAt: null },
      select: { id: true },
    });
    if (!instance) throw new AppError('NOT_FOUND', 'Instance not found');
    // Requests about one of its backups (backup.create names the backup it made) are its too.
    const backups = await db.backup.findMany({
      where: { instanceId: instance.id },
      select: { id: true },
    });
    backupIds = backups.map((backup) => backup.id);
  }

  const eventWhere: Prisma.InstanceEventWhereInput = {
    ...(input.instanceId ? { instanceId: input.instanceId } : {}),
    kind: { in: eventKindsOf(input.kinds) },
    ...after(cursor, 1),
  };
  const requestWhere: Prisma.AuditEventWhereInput = {
    ...(input.instanceId ? { resourceId: { in: [input.instanceId, ...backupIds] } } : {}),
    result: 'OK',
    path: { in: requestPathsOf(input.kinds) },
    ...after(cursor, 0),
  };
  const order = [{ createdAt: 'desc' as const }, { id: 'desc' as const }];
  const [events, requests] = await Promise.all([
    db.instanceEvent.findMany({
      where: eventWhere,
      orderBy: order,
      take,
      select: {
        id: true,
        kind: true,
        message: true,
        actor: true,
        details: true,
        guestSeq: true,
        createdAt: true,
        instance: { select: { id: true, name: true } },
      },
    }),
    // The two clients' delegates differ in type only by the tenancy extension.
    (db.auditEvent as PrismaClient['auditEvent']).findMany({
      where: requestWhere,
      orderBy: order,
      take,
      select: {
        id: true,
        path: true,
        resourceId: true,
        actorEmail: true,
        apiTokenId: true,
        createdAt: true,
      },
    }),
  ]);

  const merged = [
    ...events.map((row) => ({
      position: { at: row.createdAt.getTime(), rank: 1 as const, id: row.id },
      event: row,
    })),
    ...requests.map((row) => ({
      position: { at: row.createdAt.getTime(), rank: 0 as const, id: row.id },
      request: row,
    })),
  ].sort((a, b) => comparePositions(a.position, b.position));
  const page = merged.slice(0, input.limit);
  const hasMore = merged.length > input.limit;

  const pageRequests = page.flatMap((item) => ('request' in item ? [item.request] : []));
  const names = await namesOfResources(
    db,
    pageRequests.map((row) => row.resourceId),
  );
  const tokens = await tokensOf(
    db,
    pageRequests.map((row) => row.apiTokenId),
  );

  const entries = page.flatMap((item): TimelineEntry[] => {
    const id = item.position.id;
    if ('event' in item) {
      const row = item.event;
      const kind = timelineKindOfEvent(row.kind);
      if (!kind) return [];
      return [
        {
          id: `event:${id}`,
          at: row.createdAt,
          kind,
          summary:
            row.kind === 'status_changed'
              ? describeStatusChange(row.details, row.message)
              : row.message,
          actor: actorOfEvent(row),
          instance: row.instance,
        },
      ];
    }
    const row = item.request;
    const request = describeRequest(row.path);
    if (!request) return [];
    const token = row.apiTokenId ? tokens.get(row.apiTokenId) : undefined;
    const actor: TimelineActor = row.apiTokenId
      ? {
          type: 'api_token',
          name: token
            ? `${token.name} (${displayPrefixOf(token.publicId)})`
            : 'a deleted API token',
          email: row.actorEmail,
        }
      : { type: 'user', name: row.actorEmail ?? 'a deleted user', email: row.actorEmail };
    return [
      {
        id: `request:${id}`,
        at: row.createdAt,
        kind: request.kind,
        summary: request.summary,
        actor,
        instance: (row.resourceId && names.get(row.resourceId)) || null,
      },
    ];
  });
  const last = page.at(-1);
  return { entries, nextCursor: hasMore && last ? encodeCursor(last.position) : null };
}

/** The instance each resource id names: an instance, or a backup's instance (by its name then). */
async function namesOfResources(
  db: ProjectScopedDb,
  resourceIds: (string | null)[],
): Promise<Map<string, { id: string; name: string }>> {
  const ids = [
    ...new Set(resourceIds.filter((id): id is string => !!id && z.uuid().safeParse(id).success)),
  ];
  const names = new Map<string, { id: string; name: string }>();
  if (ids.length === 0) return names;
  const [instances, backups] = await Promise.all([
    db.instance.findMany({ where: { id: { in: ids } }, select: { id: true, name: true } }),
    db.backup.findMany({
      where: { id: { in: ids } },
      select: { id: true, instanceId: true, instanceName: true },
    }),
  ]);
  for (const instance of instances) names.set(instance.id, instance);
  for (const backup of backups)
    names.set(backup.id, { id: backup.instanceId, name: backup.instanceName });
  return names;
}

async function tokensOf(db: ProjectScopedDb, tokenIds: (string | null)[]) {
  const ids = [...new Set(tokenIds.filter((id): id is string => id !== null))];
  const tokens = ids.length
    ? await db.apiToken.findMany({
        where: { id: { in: ids } },
        select: { id: true, name: true, publicId: true },
      })
    : [];
  return new Map(tokens.map((token) => [token.id, token]));
}
