import 'server-only';

import {
  rolePresenceKeys,
  rolePresenceSchema,
  WORKER_ROLE_NAMES,
  type RolePresence,
} from '@coffer/contracts';
import { type Redis } from 'ioredis';
import { z } from 'zod';

import { env } from '~/env';
import { getRedis } from '~/server/redis';

/**
 * The worker roles as operators see them (Admin): each role up (some process of it beats) or
 * down since when (its processes' last beat, or their clean stop), with the processes behind
 * it. Read from what each worker process writes in Redis (contracts' worker-roles.ts), for the
 * workers of this console's taskmanager queue.
 */

export const workerRoleProcessSchema = z.object({
  host: z.string(),
  pid: z.number(),
  isLive: z.boolean(),
  startedAt: z.date(),
  lastBeatAt: z.date(),
  stoppedAt: z.date().nullable(),
  restarts: z.number(),
});

export const workerRoleViewSchema = z.object({
  role: z.enum(WORKER_ROLE_NAMES),
  /** `unknown`: no process of this role ever said it ran (for this queue). */
  state: z.enum(['up', 'down', 'unknown']),
  /** Up: since its oldest live process started. Down: since its last process stopped or last beat. */
  since: z.date().nullable(),
  processes: z.array(workerRoleProcessSchema),
});
export type WorkerRoleView = z.infer<typeof workerRoleViewSchema>;

export async function listWorkerRoles(
  redis: Redis = getRedis(),
  queuePrefix: string = env.COFFER_QUEUE_PREFIX,
): Promise<WorkerRoleView[]> {
  const keys = rolePresenceKeys(queuePrefix);
  const registry = await redis.hgetall(keys.registry);
  const members = Object.keys(registry);
  const live =
    members.length > 0 ? await redis.mget(...members.map((member) => keys.live(member))) : [];

  const records: (RolePresence & { isLive: boolean })[] = [];
  members.forEach((member, index) => {
    // A live key holds the newest beat; the registry's may be one beat behind.
    const parsed = rolePresenceSchema.safeParse(parseJson(live[index] ?? registry[member]!));
    if (parsed.success) records.push({ ...parsed.data, isLive: live[index] !== null });
  });

  return WORKER_ROLE_NAMES.map((role) => {
    const processes = records
      .filter((record) => record.role === role)
      .map((record) => ({
        host: record.host,
        pid: record.pid,
        isLive: record.isLive,
        startedAt: new Date(record.startedAt),
        lastBeatAt: new Date(record.lastBeatAt),
        stoppedAt: record.stoppedAt ? new Date(record.stoppedAt) : null,
        restarts: record.restarts,
      }))
      .sort(
        (a, b) =>
          Number(b.isLive) - Number(a.isLive) || b.lastBeatAt.getTime() - a.lastBeatAt.getTime(),
      );
    const liveOnes = processes.filter((process) => process.isLive);
    if (liveOnes.length > 0) {
      const since = new Date(Math.min(...liveOnes.map((process) => process.startedAt.getTime())));
      return { role, state: 'up' as const, since, processes };
    }
    if (processes.length === 0) return { role, state: 'unknown' as const, since: null, processes };
    const since = new Date(
      Math.max(...processes.map((process) => (process.stoppedAt ?? process.lastBeatAt).getTime())),
    );
    return { role, state: 'down' as const, since, processes };
  });
}

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return null;
  }
}
