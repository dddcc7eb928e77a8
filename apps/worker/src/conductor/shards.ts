import { conductorShardName, conductorShardStream } from '@coffer/contracts';
import { type Redis } from 'ioredis';

import { type Logger } from '../logger';
import { type WorkerSettings } from '../settings';

/**
 * The conductor stream's shards, and which process reads which.
 *
 * Each guest is told one shard stream (its instance's, from its id), so all of one guest's
 * messages are in one stream. Conductor processes register in a sorted set (each renews its
 * membership every `conductorMembershipMs`; one not heard of for `conductorMemberTtlMs` is
 * dropped) and, sorted by name, process k of P reads the shards j with j mod P = k. So each
 * guest's messages are read by one process: its batches coalesce that guest's beats and no two
 * processes write the same rows at once. The stream itself (older guests, tools) is read by
 * every process, as before.
 *
 * Nothing depends on the split being exact: while processes join or leave, a shard may be
 * read by two for a moment (the consumer group still gives each entry to one) or by none (its
 * entries wait in the stream, none lost). A process that dies leaves its shards unread until
 * its membership expires; what it had read and not acknowledged is claimed again like any
 * pending entry (Conductor.reclaim).
 */

type ShardSettings = Pick<WorkerSettings, 'conductorStream' | 'conductorShards'>;

/** The stream a guest of `instanceId` is told to write to. */
export function guestConductorStream(settings: ShardSettings, instanceId: string): string {
  return conductorShardStream(settings.conductorStream, instanceId, settings.conductorShards);
}

/** Every stream a guest may write to: the stream itself, then each shard. */
export function allConductorStreams(settings: ShardSettings): string[] {
  return [
    settings.conductorStream,
    ...Array.from({ length: settings.conductorShards }, (_, shard) =>
      conductorShardName(settings.conductorStream, shard),
    ),
  ];
}

/** The sorted set of conductor processes (members, scored by when each expires). */
export function conductorMembersKey(settings: Pick<WorkerSettings, 'conductorStream'>): string {
  return `${settings.conductorStream}:members`;
}

/**
 * Renews ARGV[1]'s membership for ARGV[2] ms on Redis' clock (processes on several hosts
 * need not agree on the time), drops the expired, and returns the members.
 */
const RENEW_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], ttl * 4)
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;

/** The shards process `consumer` holds among `members` (j mod P = its rank by name). */
export function shardsHeldBy(consumer: string, members: string[], shards: number): number[] {
  const sorted = [...new Set([...members, consumer])].sort();
  const rank = sorted.indexOf(consumer);
  return Array.from({ length: shards }, (_, shard) => shard).filter(
    (shard) => shard % sorted.length === rank,
  );
}

export class ShardMembership {
  private held: number[] | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly settings: ShardSettings & Pick<WorkerSettings, 'tuning'>,
    private readonly consumer: string,
    private readonly logger: Logger,
  ) {}

  /** Renews this process's membership; the shard streams it holds now, and whether that changed. */
  async renew(): Promise<{ streams: string[]; isChanged: boolean }> {
    const members = (await this.redis.eval(
      RENEW_SCRIPT,
      1,
      conductorMembersKey(this.settings),
      this.consumer,
      this.settings.tuning.conductorMemberTtlMs,
    )) as string[];
    const held = shardsHeldBy(this.consumer, members, this.settings.conductorShards);
    const isChanged = this.held === null || held.join() !== this.held.join();
    if (isChanged)
      this.logger.info(
        { shards: held, processes: members.length },
        'conductor: the shards this process reads',
      );
    this.held = held;
    return {
      streams: held.map((shard) => conductorShardName(this.settings.conductorStream, shard)),
      isChanged,
    };
  }

  /** Leaves at once (a clean stop): the others take its shards at their next renewal. */
  async leave(): Promise<void> {
    await this.redis.zrem(conductorMembersKey(this.settings), this.consumer);
  }
}
