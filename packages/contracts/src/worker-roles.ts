import { z } from 'zod';

/**
 * worker roles → web: each worker process says in Redis which roles it runs, so operators see
 * a role that is down. Per role and process, every heartbeat interval:
 * - a *live* key with the record, expiring after the heartbeat expiry: present while the
 *   process beats (a crashed or killed one drops out within the expiry);
 * - a field of the *registry* hash with the same record, kept after the process is gone: when
 *   it last beat, or when it stopped cleanly (`stoppedAt`).
 * Both are named after the taskmanager queue's prefix, which the console and its workers share.
 */
export const WORKER_ROLE_NAMES = ['taskmanager', 'conductor', 'watchdog'] as const;
export type WorkerRoleName = (typeof WORKER_ROLE_NAMES)[number];

export const rolePresenceSchema = z.object({
  role: z.enum(WORKER_ROLE_NAMES),
  host: z.string(),
  pid: z.number().int(),
  /** ISO timestamps, the worker's clock. */
  startedAt: z.iso.datetime(),
  lastBeatAt: z.iso.datetime(),
  /** How many times the supervisor started this role again before this process. */
  restarts: z.number().int().min(0),
  /** Set when the process stopped cleanly. */
  stoppedAt: z.iso.datetime().nullable(),
});
export type RolePresence = z.infer<typeof rolePresenceSchema>;

/** One process's field in the registry: `<role>@<host>:<pid>`. */
export function rolePresenceMember({
  role,
  host,
  pid,
}: Pick<RolePresence, 'role' | 'host' | 'pid'>) {
  return `${role}@${host}:${pid}`;
}

export function rolePresenceKeys(queuePrefix: string) {
  return {
    registry: `coffer:roles:${queuePrefix}`,
    live: (member: string) => `coffer:roles:${queuePrefix}:live:${member}`,
  };
}
