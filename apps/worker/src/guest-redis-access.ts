import { createHash, randomBytes } from 'node:crypto';

import { guestQueueName } from '@coffer/contracts';
import { guestRedisPassword } from '@coffer/contracts/crypto';
import { type PrismaClient } from '@coffer/db';
import { type Redis } from 'ioredis';

import { guestConductorStream } from './conductor/shards';
import { WorkerEnvError } from './env';
import { type Logger } from './logger';
import { type WorkerSettings } from './settings';

/**
 * Each guest's own Redis user (Redis ACL, Redis 6.2+; write-only keys need 7.0): what a guest
 * may do in the Redis it shares with the control plane, so that a guest (and whoever takes
 * over its VM) holds no key to anything but its own work.
 *
 * The user `guest-<instanceId>` may
 * - run its RPC queue as a BullMQ worker: the queue's keys `bull:guest-<id>:*` (guest queues
 *   use BullMQ's default prefix, `bull`) and its memory of requests taken,
 *   `guest-<id>:accepted:*` (apps/guest/src/rpc/accepted-requests.ts), with the commands a
 *   BullMQ worker sends (`EVALSHA`/`EVAL` of its scripts, `BZPOPMIN` on the queue's marker,
 *   `INFO` for the server's version, `CLIENT SETNAME`) and those its scripts call, which Redis
 *   checks against the same keys; plus `GET`, `SET` and `TIME`;
 * - append to the conductor stream and nothing else there (`XADD` on `%W~<stream>`, in a
 *   selector of its own: it cannot read the stream, nor overwrite or delete it);
 * - no pub/sub channel, no other key, no admin command (`KEYS`, `FLUSHALL`, `CONFIG`, `ACL`
 *   ... answer NOPERM).
 *
 * Its password is derived from the master key and the instance id (`guestRedisPassword`): never
 * stored, never logged, and Redis is sent only its SHA-256 (`#<hash>`). The user is made when
 * the instance's server is created, before the guest starts, and removed when the instance is
 * deleted. Redis keeps ACL users in memory only (unless it has an aclfile): the worker sets up
 * every live instance's user again at start, at every reconciliation of the watchdog and when
 * its connection to Redis comes back (`reconcileGuestRedisUsers`).
 *
 * COFFER_GUEST_REDIS_ACL: `auto` (the default) uses users when Redis accepts `ACL SETUSER`
 * from the control plane and otherwise gives every guest the shared URL, as before; `on`
 * refuses to start without them; `off` never touches ACL (every guest gets the shared URL).
 */

export type GuestRedisAclMode = 'auto' | 'on' | 'off';

/** Commands a guest sends itself (besides AUTH, HELLO and QUIT, which every user may send). */
const GUEST_COMMANDS = [
  'evalsha',
  'eval',
  'bzpopmin',
  'info',
  'client|setname',
  'ping',
  'select',
  'time',
  'get',
  'set',
] as const;

/**
 * Commands BullMQ's Lua scripts call (bullmq/dist/cjs/scripts, every `rcall`): a script runs
 * with its caller's permissions, command by command and key by key, so each must be allowed,
 * and each is confined to the guest's own keys.
 */
const BULLMQ_SCRIPT_COMMANDS = [
  'del',
  'exists',
  'get',
  'hdel',
  'hexists',
  'hget',
  'hgetall',
  'hincrby',
  'hlen',
  'hmget',
  'hmset',
  'hset',
  'incr',
  'incrby',
  'lindex',
  'llen',
  'lpop',
  'lpos',
  'lpush',
  'lrange',
  'lrem',
  'lset',
  'ltrim',
  'pexpire',
  'pexpireat',
  'pttl',
  'rename',
  'rpop',
  'rpoplpush',
  'rpush',
  'sadd',
  'scard',
  'sismember',
  'smembers',
  'srem',
  'set',
  'time',
  'type',
  'unlink',
  'xadd',
  'xdel',
  'xlen',
  'xrange',
  'xread',
  'xtrim',
  'zadd',
  'zcard',
  'zcount',
  'zlexcount',
  'zpopmin',
  'zrange',
  'zrangebylex',
  'zrangebyscore',
  'zrem',
  'zremrangebyrank',
  'zremrangebyscore',
  'zrevrange',
  'zrevrangebyscore',
  'zscore',
] as const;

/** BullMQ's key prefix of guest queues (both sides use BullMQ's default). */
const GUEST_QUEUE_PREFIX = 'bull';

export function guestRedisUserName(instanceId: string): string {
  return `guest-${instanceId}`;
}

/** A Redis glob pattern matching `text` literally. */
function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, (char) => `\\${char}`);
}

/**
 * The `ACL SETUSER` rules of an instance's user, after its name (the password as its hash). It
 * may append to its shard of the conductor stream (what a guest made now is told) and to the
 * stream itself (what a guest made before shards was told; its user is made again on a
 * reconcile), to no other shard.
 */
export function guestRedisUserRules(
  instanceId: string,
  password: string,
  settings: Pick<WorkerSettings, 'conductorStream' | 'conductorShards'>,
): string[] {
  const queue = globLiteral(`${GUEST_QUEUE_PREFIX}:${guestQueueName(instanceId)}:`);
  const accepted = globLiteral(`${guestQueueName(instanceId)}:accepted:`);
  const commands = [...new Set<string>([...GUEST_COMMANDS, ...BULLMQ_SCRIPT_COMMANDS])];
  return [
    'reset',
    'on',
    `#${createHash('sha256').update(password).digest('hex')}`,
    'resetchannels',
    '-@all',
    ...commands.map((command) => `+${command}`),
    `~${queue}*`,
    `~${accepted}*`,
    `(+xadd %W~${globLiteral(settings.conductorStream)} %W~${globLiteral(guestConductorStream(settings, instanceId))})`,
  ];
}

export class GuestRedisAccess {
  private constructor(
    private readonly redis: Redis,
    private readonly settings: Pick<
      WorkerSettings,
      'masterKey' | 'conductorStream' | 'conductorShards' | 'guestRedisUrl'
    >,
    private readonly logger: Logger,
    /** Whether guests get users of their own. */
    readonly isEnabled: boolean,
  ) {}

  /**
   * Decides, once per process, whether guests get users of their own (the mode, and whether
   * Redis accepts `ACL SETUSER` from this connection), and says so in the log.
   */
  static async start(
    redis: Redis,
    settings: Pick<
      WorkerSettings,
      'masterKey' | 'conductorStream' | 'conductorShards' | 'guestRedisUrl' | 'guestRedisAcl'
    >,
    logger: Logger,
  ): Promise<GuestRedisAccess> {
    const mode = settings.guestRedisAcl;
    if (mode === 'off') {
      logger.info(
        'guest Redis ACL is off (COFFER_GUEST_REDIS_ACL=off): every guest is given the shared Redis URL',
      );
      return new GuestRedisAccess(redis, settings, logger, false);
    }
    const refusal = await probeAcl(redis);
    if (refusal) {
      if (mode === 'on') {
        throw new WorkerEnvError(
          `COFFER_GUEST_REDIS_ACL=on, but Redis refused ACL SETUSER (${refusal}): it needs Redis 7 and a control-plane user allowed to run ACL`,
        );
      }
      logger.warn(
        { reason: refusal },
        'guest Redis ACL unavailable: Redis refused ACL SETUSER, so every guest is given the shared Redis URL (COFFER_GUEST_REDIS_ACL=off says this on purpose)',
      );
      return new GuestRedisAccess(redis, settings, logger, false);
    }
    logger.info(
      { conductorStream: settings.conductorStream },
      'guest Redis ACL is on: each guest gets a Redis user of its own (guest-<instanceId>), limited to its RPC queue and to appending to the conductor stream',
    );
    return new GuestRedisAccess(redis, settings, logger, true);
  }

  /** The Redis URL a guest is given: the shared one, with the guest's own user and password when enabled. */
  urlFor(instanceId: string): string {
    const base = this.settings.guestRedisUrl;
    if (!base) throw new Error('the control plane has no Redis URL to give its guests');
    if (!this.isEnabled) return base;
    const url = new URL(base);
    url.username = encodeURIComponent(guestRedisUserName(instanceId));
    url.password = encodeURIComponent(guestRedisPassword(this.settings.masterKey, instanceId));
    return url.toString();
  }

  /** Sets the instance's user up (again): idempotent. Does nothing when disabled. */
  async ensureUser(instanceId: string): Promise<void> {
    if (!this.isEnabled) return;
    const rules = guestRedisUserRules(
      instanceId,
      guestRedisPassword(this.settings.masterKey, instanceId),
      this.settings,
    );
    await runAcl(this.redis, 'SETUSER', guestRedisUserName(instanceId), ...rules);
  }

  /** Removes the instance's user (Redis closes its connections): idempotent. Does nothing when disabled. */
  async removeUser(instanceId: string): Promise<void> {
    if (!this.isEnabled) return;
    const removed = await runAcl(this.redis, 'DELUSER', guestRedisUserName(instanceId));
    if (removed === 1) this.logger.info({ instanceId }, "the guest's Redis user is removed");
  }

  /** Of these instances, those whose user Redis has. */
  async existingUsers(instanceIds: readonly string[]): Promise<Set<string>> {
    const users = new Set((await runAcl(this.redis, 'USERS')) as string[]);
    return new Set(instanceIds.filter((id) => users.has(guestRedisUserName(id))));
  }
}

/** Why Redis refuses ACL SETUSER from this connection, or null when it accepts it. */
async function probeAcl(redis: Redis): Promise<string | null> {
  const probe = `coffer-acl-probe-${randomBytes(6).toString('hex')}`;
  try {
    // A user that cannot log in (no password, off), removed at once.
    await redis.call('ACL', 'SETUSER', probe, 'reset', 'off', '(+xadd %W~coffer-probe)');
    await redis.call('ACL', 'DELUSER', probe);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** ACL subcommand; an error carries Redis's answer, not the arguments (a user's rules hold its password's hash). */
async function runAcl(redis: Redis, subcommand: string, ...args: string[]): Promise<unknown> {
  try {
    return await redis.call('ACL', subcommand, ...args);
  } catch (error) {
    throw new Error(
      `Redis refused ACL ${subcommand}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/**
 * Sets up again the users of live instances (a server recorded, not being deleted) that Redis
 * does not have (it lost them in a restart, or an operator removed them); returns their ids.
 * A user made for an instance whose delete began meanwhile is removed again.
 */
export async function reconcileGuestRedisUsers(deps: {
  prisma: PrismaClient;
  access: GuestRedisAccess;
  logger: Logger;
}): Promise<string[]> {
  const { prisma, access, logger } = deps;
  if (!access.isEnabled) return [];
  const live = async (ids?: string[]) =>
    (
      await prisma.instance.findMany({
        where: {
          deletedAt: null,
          computeServerId: { not: null },
          taskStatus: { not: 'DELETING' },
          ...(ids ? { id: { in: ids } } : {}),
        },
        select: { id: true },
      })
    ).map((row) => row.id);
  const ids = await live();
  const existing = await access.existingUsers(ids);
  const missing = ids.filter((id) => !existing.has(id));
  if (missing.length === 0) return [];
  for (const id of missing) await access.ensureUser(id);
  // A delete that began after the list removes its user after its server; it may have done so
  // before the user above was made: remove it again.
  const stillLive = new Set(await live(missing));
  for (const id of missing) if (!stillLive.has(id)) await access.removeUser(id);
  const made = missing.filter((id) => stillLive.has(id));
  if (made.length > 0) {
    logger.warn(
      { instanceIds: made },
      `set up ${made.length} guest Redis user(s) Redis did not have (a Redis restart loses them)`,
    );
  }
  return made;
}
