import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

import {
  conductorMessageSchema,
  deriveReplicationState,
  describeReplicationError,
  type BackupReport,
  type ConductorMessage,
} from '@coffer/contracts';
import { guestKeys, isValidSignature } from '@coffer/contracts/crypto';
import { type PrismaClient } from '@coffer/db';
import { type Redis } from 'ioredis';
import { z } from 'zod';

import { type ChangePublisher } from '../events';
import { openGuestSecret } from '../guest-secret';
import { type Logger } from '../logger';
import { type WorkerSettings } from '../settings';
import { applyBackupReport } from './apply-backup-report';
import { applyEventMessage } from './apply-event';
import { applyUnchangedHeartbeats, type HeartbeatMessage } from './apply-heartbeats';
import { applyMetricsMessage, storeMetricsSamples, type MetricsMessage } from './apply-metrics';
import { applyConductorMessage } from './apply-message';
import { ShardMembership } from './shards';

/**
 * The conductor (Trove's trove-conductor): reads the guests' stream in a consumer group and
 * writes what they report to PostgreSQL, so guests never touch the control-plane database.
 *
 * For each entry: find the instance named in the body, verify the HMAC with that instance's
 * own key (so a guest can only speak for itself), parse the message, drop it when its `sentAt`
 * is outside the skew window of the control plane's clock, apply it in one conditional update
 * (stale messages change nothing), publish a change event when users see a
 * difference, and only then XACK (at-least-once). Anything forged or malformed is acked and
 * dropped with a warning. A failed write leaves the entry pending; pending entries idle for
 * too long (ours after a failed write, or a dead conductor's) are claimed again.
 *
 * A batch read from the stream is verified entry by entry, then written in as few statements
 * as its contents allow, and acked with one XACK once all are applied: its metrics samples in
 * one INSERT; its heartbeats that change nothing users see (the common case: the same status,
 * a newer last-seen time and volume) in one conditional UPDATE per round, a round being the
 * next entry of every instance, so each instance's entries are still applied in stream order
 * (that statement also finds the heartbeats another conductor has overtaken: acked, not
 * written); everything else (a status change, a fault, a backup report, an event, anything
 * else stale) one by one with its own conditional update, several instances at once
 * (`conductorConcurrency`).
 * The batch statements carry the same conditions as the one-by-one path, row by row; when one
 * fails, its entries take the one-by-one path (bench:conductor measures it). Within a batch, the
 * instances whose guest says something new (a status, a version, a fault: a change users wait
 * to see) are applied and published first, ahead of the plain heartbeats.
 *
 * Which streams: the stream itself, and the shards this process holds (shards.ts: each guest
 * writes to one shard, so one process reads all it says). Entries carry their stream through
 * to their XACK.
 *
 * The streams are read about `conductorReadCount` entries at once (a backlog in one read; COUNT
 * is that over the number of streams, at least 100 each). The
 * instances with a likely change are applied and acked at once; everything else is held, in
 * stream order, and written `conductorBatchSize` entries at a time once the oldest held entry
 * is `conductorFlushMs` old, with a read (not waiting) between chunks. So a status change waits
 * neither behind a backlog of heartbeats nor for their statement, and plain heartbeats cost one
 * statement and one commit per chunk, not per read. An instance whose change comes while some
 * of its entries are held takes them along, ahead of the change. A guest's heartbeats that say
 * the same are written as the newest of them (see applyLanes). A chunk is written while the
 * loop goes on reading (one chunk at a time; a change of one of its instances waits for it).
 * What is held when the conductor stops is written before it leaves.
 */

export interface ConductorDeps {
  prisma: PrismaClient;
  /** Non-blocking commands (XACK, XAUTOCLAIM, XTRIM, publish). */
  redis: Redis;
  /** A connection of its own for XREADGROUP BLOCK; the conductor owns it and closes it. */
  blockingConnection: Redis;
  publisher: ChangePublisher;
  settings: WorkerSettings;
  logger: Logger;
}

type EntryOutcome = 'applied' | 'unchanged' | 'stale';

type StreamEntry = [id: string, fields: string[]];

/** An entry of one of the streams read (the stream itself or a shard): what XACK needs. */
interface EntryRef {
  stream: string;
  id: string;
}

/** A stream entry's fields, its body parsed (not verified yet): `json` is undefined when the body is not JSON. */
interface ReadEntry extends EntryRef {
  body: string | undefined;
  sig: string | undefined;
  json: unknown;
  /** The instance its unverified body names (lower case), or null. */
  key: string | null;
  /** For a heartbeat, what it says that users see (saidOf); else null. */
  said: string | null;
  /** When it was read from the stream (Date.now()). */
  readAt: number;
}

/** A stream entry whose message passed verification. */
interface VerifiedEntry<M extends ConductorMessage = ConductorMessage> extends EntryRef {
  message: M;
  /** When its batch was read from the stream (Date.now()). */
  readAt: number;
}

const bodyInstanceSchema = z.object({ instanceId: z.uuid() });
const SECRET_CACHE_TTL_MS = 5 * 60_000;
const SECRET_CACHE_MAX = 10_000;
/** How long a read waits while held entries are due and the chunk before them is still being written. */
const WRITING_POLL_MS = 10;
/** The least a read takes from each stream (a backlog in one shard is not read in slivers). */
const MIN_READ_PER_STREAM = 100;

export class Conductor {
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly secrets = new Map<
    string,
    { signingKey: Buffer; projectId: string; expiresAt: number }
  >();
  /**
   * What each instance's guest said last in a heartbeat this conductor applied (its status,
   * guest version and volume fault), to tell a batch's likely changes from its plain heartbeats
   * before verifying anything (see triage). Only a hint: a wrong one costs a statement, never
   * correctness.
   */
  private readonly lastSaid = new Map<string, string>();
  /**
   * Entries read whose instances have nothing urgent (plain heartbeats, samples, reports), in
   * stream order, written at most `conductorFlushMs` after they were read (see run).
   */
  private held: ReadEntry[] = [];
  /** The chunk of held entries being written (see writeHeld): its instances and its end. */
  private writing: { keys: Set<string>; done: Promise<void> } | null = null;
  /**
   * The changes being applied while the loop goes on reading (see handleRead): for each
   * instance, the end of the last batch that holds its entries (removed once it is done).
   */
  private readonly applying = new Map<string, Promise<void>>();
  /** The entries of the batches being applied. */
  private applyingEntries = 0;
  private isStopped = false;
  private loop: Promise<void> | null = null;
  private nextReclaimAt = 0;
  private nextTrimAt = 0;
  private wakeFromPause: (() => void) | null = null;
  private readonly membership: ShardMembership;
  /** The streams this process reads: the stream itself, then the shards it holds (see shards.ts). */
  private streams: string[];
  /** The streams whose group this process has made sure of. */
  private readonly grouped = new Set<string>();
  private nextRenewalAt = 0;

  constructor(private readonly deps: ConductorDeps) {
    this.membership = new ShardMembership(deps.redis, deps.settings, this.consumer, deps.logger);
    this.streams = [this.stream];
  }

  private get stream(): string {
    return this.deps.settings.conductorStream;
  }

  /** The streams this process reads now: the stream itself, then the shards it holds. */
  get readStreams(): readonly string[] {
    return this.streams;
  }

  private get group(): string {
    return this.deps.settings.conductorGroup;
  }

  async start(): Promise<void> {
    await this.ensureGroup(this.stream);
    await this.renewShards();
    this.nextTrimAt = Date.now() + this.deps.settings.tuning.conductorTrimIntervalMs;
    this.loop = this.run();
    this.deps.logger.info(
      { stream: this.stream, group: this.group, consumer: this.consumer },
      'conductor started',
    );
  }

  async stop(): Promise<void> {
    if (this.isStopped) return;
    this.isStopped = true;
    this.wakeFromPause?.();
    // Ends a blocked XREADGROUP at once; an entry being applied finishes first (the loop awaits it).
    this.deps.blockingConnection.disconnect();
    await this.loop;
    await this.membership
      .leave()
      .catch((error: unknown) =>
        this.deps.logger.debug({ err: error }, 'conductor: could not leave the members'),
      );
    for (const stream of this.grouped)
      await this.leaveGroup(stream).catch((error: unknown) =>
        this.deps.logger.debug({ err: error, stream }, 'conductor: could not leave the group'),
      );
  }

  /** A consumer with nothing pending leaves the group on a clean stop (else each process start would leave one behind). */
  private async leaveGroup(stream: string): Promise<void> {
    const pending = (await this.deps.redis.xpending(
      stream,
      this.group,
      '-',
      '+',
      1,
      this.consumer,
    )) as unknown[];
    if (pending.length === 0)
      await this.deps.redis.xgroup('DELCONSUMER', stream, this.group, this.consumer);
  }

  private async ensureGroup(stream: string): Promise<void> {
    try {
      await this.deps.redis.xgroup('CREATE', stream, this.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
    this.grouped.add(stream);
  }

  /** Renews this process's membership and reads the shards it holds from now on (shards.ts). */
  private async renewShards(): Promise<void> {
    const { streams: shards, isChanged } = await this.membership.renew();
    this.nextRenewalAt = Date.now() + this.deps.settings.tuning.conductorMembershipMs;
    if (!isChanged) return;
    for (const stream of shards) if (!this.grouped.has(stream)) await this.ensureGroup(stream);
    this.streams = [this.stream, ...shards];
  }

  private async run(): Promise<void> {
    const { tuning } = this.deps.settings;
    let failures = 0;
    while (!this.isStopped) {
      try {
        if (Date.now() >= this.nextRenewalAt) await this.renewShards();
        if (Date.now() >= this.nextReclaimAt) {
          await this.reclaim();
          this.nextReclaimAt = Date.now() + tuning.conductorReclaimIntervalMs;
        }
        if (Date.now() >= this.nextTrimAt) {
          await this.trim();
          this.nextTrimAt = Date.now() + tuning.conductorTrimIntervalMs;
        }
        // Held entries due (or too many held): a chunk is written while the loop goes on
        // reading, so that a change that comes meanwhile waits neither for it nor for the next.
        // One chunk at a time: while one is being written, the next waits (unless too many are
        // held), and the stream is read in short waits until it is done.
        const oldest = this.held[0];
        const isTooMany = this.held.length >= tuning.conductorReadCount;
        if (
          oldest &&
          (isTooMany || Date.now() >= oldest.readAt + tuning.conductorFlushMs) &&
          (!this.writing || isTooMany)
        )
          await this.writeHeld(tuning.conductorBatchSize);
        // Changes still being applied: the next read waits while too many are (a slow database).
        if (this.applyingEntries >= tuning.conductorReadCount) await this.allApplied();
        if (this.held.length < tuning.conductorReadCount) {
          const next = this.held[0];
          const untilDue = next
            ? Math.ceil(next.readAt + tuning.conductorFlushMs - Date.now())
            : tuning.conductorBlockMs;
          // BLOCK 0 would wait forever; the membership is renewed in time.
          const blockMs = Math.min(
            untilDue > 0 ? untilDue : WRITING_POLL_MS,
            Math.max(1, this.nextRenewalAt - Date.now()),
          );
          const streams = this.streams;
          // COUNT is per stream: about `conductorReadCount` in all, whatever the shards held.
          const count = Math.max(
            MIN_READ_PER_STREAM,
            Math.ceil(tuning.conductorReadCount / streams.length),
          );
          const reply = (await this.deps.blockingConnection.xreadgroup(
            'GROUP',
            this.group,
            this.consumer,
            'COUNT',
            count,
            'BLOCK',
            blockMs,
            'STREAMS',
            ...streams,
            ...streams.map(() => '>'),
          )) as [string, StreamEntry[]][] | null;
          const readAt = Date.now();
          const entries = (reply ?? []).flatMap(([stream, list]) =>
            list.map((entry) => readEntry(stream, entry, readAt)),
          );
          if (entries.length > 0) this.handleRead(entries);
        }
        failures = 0;
      } catch (error) {
        if (this.isStopped) break;
        failures++;
        if (String((error as Error).message).includes('NOGROUP')) {
          for (const stream of this.streams) await this.ensureGroup(stream).catch(() => undefined);
        }
        this.deps.logger.warn({ err: error }, 'conductor: reading the stream failed; retrying');
        await this.pause(Math.min(5000, 200 * 2 ** Math.min(failures, 5)));
      }
    }
    // What is held is written before the conductor leaves (else it waits, pending, to be claimed).
    try {
      await this.allApplied();
      while (this.held.length > 0)
        await this.writeHeld(this.deps.settings.tuning.conductorBatchSize);
      await this.writing?.done;
    } catch (error) {
      this.deps.logger.warn(
        { err: error },
        'conductor: writing the held entries at stop failed; they stay pending',
      );
    }
  }

  /**
   * Entries just read: the instances with a likely visible change (triage, over what is held
   * too, so that an instance's held entries go before its change) are applied and acked at
   * once; everything else is held and written with the next chunk (writeHeld). A change thus
   * waits neither for the heartbeats read with it nor for those ahead of it in a backlog.
   * The changes are applied while the loop goes on reading, so that what comes meanwhile in this
   * process's shards is read at once, not after the change's statements (no other process reads
   * those shards): a batch of changes of other instances than those being applied goes at once,
   * else after them (each instance's order).
   */
  private handleRead(entries: ReadEntry[]): void {
    const { urgent, rest } = this.triage([...this.held, ...entries]);
    this.held = rest;
    if (urgent.length === 0) return;
    const keys = keysOf(urgent);
    // What its instances wait for (their order): their changes being applied, their entries
    // being written.
    const before = this.appliedFirst(keys);
    const writing = this.writing;
    if (writing && [...keys].some((key) => writing.keys.has(key))) before.push(writing.done);
    const done = (async () => {
      await Promise.all(before);
      await this.applyAndAck(urgent);
    })().catch((error: unknown) =>
      // Not acked: they stay pending and are claimed again (reclaim).
      this.deps.logger.warn(
        { err: error, entries: urgent.length },
        'conductor: applying changes failed; they stay pending',
      ),
    );
    for (const key of keys) this.applying.set(key, done);
    this.applyingEntries += urgent.length;
    void done.then(() => {
      this.applyingEntries -= urgent.length;
      for (const key of keys) if (this.applying.get(key) === done) this.applying.delete(key);
    });
  }

  /** The ends of the batches of changes being applied that hold entries of `keys`' instances. */
  private appliedFirst(keys: Set<string>): Promise<void>[] {
    const ends = new Set<Promise<void>>();
    for (const key of keys) {
      const end = this.applying.get(key);
      if (end) ends.add(end);
    }
    return [...ends];
  }

  /** Until every batch of changes being applied now is done. */
  private async allApplied(): Promise<void> {
    await Promise.all(new Set(this.applying.values()));
  }

  /**
   * Starts writing (and acking) the oldest `count` held entries, once the chunk before them is
   * written: the loop goes on reading meanwhile, so a change read while a chunk waits for its
   * statement is applied without waiting for it (unless it is one of that chunk's instances).
   */
  private async writeHeld(count: number): Promise<void> {
    await this.writing?.done;
    const chunk = this.held.slice(0, count);
    this.held = this.held.slice(count);
    const writing = { keys: keysOf(chunk), done: Promise.resolve() };
    // Entries read after a change of their instance wait for it (its order).
    const before = this.appliedFirst(writing.keys);
    writing.done = (async () => {
      await Promise.all(before);
      await this.applyAndAck(chunk);
    })()
      .catch((error: unknown) =>
        // Not acked: they stay pending and are claimed again (reclaim).
        this.deps.logger.warn(
          { err: error, entries: chunk.length },
          'conductor: writing held entries failed; they stay pending',
        ),
      )
      .finally(() => {
        if (this.writing === writing) this.writing = null;
      });
    this.writing = writing;
  }

  private async applyAndAck(entries: ReadEntry[]): Promise<void> {
    const done: EntryRef[] = [];
    await this.applyEntries(entries, done);
    await this.ack(done);
  }

  /** One XACK per stream of `done`. */
  private async ack(done: EntryRef[]): Promise<void> {
    const byStream = new Map<string, string[]>();
    for (const { stream, id } of done) {
      const ids = byStream.get(stream);
      if (ids) ids.push(id);
      else byStream.set(stream, [id]);
    }
    await Promise.all(
      [...byStream].map(([stream, ids]) => this.deps.redis.xack(stream, this.group, ...ids)),
    );
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeFromPause = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeFromPause = done;
    });
  }

  /**
   * Applies a batch and acks what was applied (or dropped) in one XACK. Every entry is first
   * verified (its HMAC with its instance's key, its shape, the skew window). Then the batch's
   * metrics samples are stored in one statement (a sample's order does not matter), and the
   * rest is applied in rounds, each instance's entries in stream order (what it says last is
   * applied last): each round takes the next entry of every instance, writes those that are
   * heartbeats changing nothing users see in one statement (applyUnchangedHeartbeats, which
   * also tells the heartbeats already overtaken: acked, not written), and applies the others
   * one by one, `conductorConcurrency` instances at once (a status change,
   * a fault, a backup report, an event, anything stale). A batch write that fails leaves its
   * entries to the one-by-one path, where a failure leaves the entry pending.
   *
   * The instances with a likely visible change (triage) go first, on their own: verified,
   * written and published before the rest of the batch is even verified.
   */
  private async handleEntries(stream: string, entries: StreamEntry[]): Promise<void> {
    const readAt = Date.now();
    const done: EntryRef[] = [];
    const { urgent, rest } = this.triage(entries.map((entry) => readEntry(stream, entry, readAt)));
    if (urgent.length > 0) await this.applyEntries(urgent, done);
    if (rest.length > 0) await this.applyEntries(rest, done);
    await this.ack(done);
  }

  /**
   * Splits a batch into the instances with a likely visible change (a fault, or a heartbeat
   * whose status, guest version or volume fault differs from what that guest said last, as far
   * as this conductor knows) and the rest, each instance's entries kept together and in order.
   * The urgent part is verified, written and published first, so that a status change waits
   * neither for the verification of a hundred plain heartbeats nor for their statement. It
   * peeks at unverified bodies: a forged one can only move its own instance's entries ahead,
   * where they are verified like any other.
   */
  private triage(entries: ReadEntry[]): { urgent: ReadEntry[]; rest: ReadEntry[] } {
    const said = new Map<string, string>();
    const urgentInstances = new Set<string>();
    for (const { key, json, said: now } of entries) {
      if (key === null) continue;
      if ((json as { kind?: unknown }).kind === 'fault') urgentInstances.add(key);
      if (now !== null) {
        const before = said.get(key) ?? this.lastSaid.get(key);
        if (before !== undefined && before !== now) urgentInstances.add(key);
        said.set(key, now);
      }
    }
    if (urgentInstances.size === 0) return { urgent: [], rest: entries };
    const urgent: ReadEntry[] = [];
    const rest: ReadEntry[] = [];
    for (const entry of entries)
      (entry.key !== null && urgentInstances.has(entry.key) ? urgent : rest).push(entry);
    return { urgent, rest };
  }

  /** A heartbeat whose guest said something else last (see lastSaid): a hint, as in triage. */
  private isLikelyChange(message: ConductorMessage): boolean {
    if (message.kind !== 'heartbeat') return false;
    const before = this.lastSaid.get(message.instanceId.toLowerCase());
    return before !== undefined && before !== saidOf(message.payload);
  }

  /** Remembers what a guest said in a heartbeat that was applied (see lastSaid). */
  private remember(message: ConductorMessage): void {
    if (message.kind !== 'heartbeat') return;
    const key = message.instanceId.toLowerCase();
    this.lastSaid.delete(key);
    if (this.lastSaid.size >= SECRET_CACHE_MAX) {
      const oldest = this.lastSaid.keys().next().value;
      if (oldest !== undefined) this.lastSaid.delete(oldest);
    }
    this.lastSaid.set(key, saidOf(message.payload));
  }

  /** Verifies `entries`, then writes them (see handleEntries); the ids applied or dropped go to `done`. */
  private async applyEntries(entries: ReadEntry[], done: EntryRef[]): Promise<void> {
    const lanes = new Map<string, VerifiedEntry[]>();
    const samples: VerifiedEntry<MetricsMessage>[] = [];
    const verified = await this.verifyEntries(entries, done);
    for (const entry of verified) {
      if (entry.message.kind === 'metrics') {
        samples.push(entry as VerifiedEntry<MetricsMessage>);
        continue;
      }
      const key = entry.message.instanceId.toLowerCase();
      const lane = lanes.get(key);
      if (lane) lane.push(entry);
      else lanes.set(key, [entry]);
    }
    await Promise.all([
      this.storeSamples(samples, done),
      this.applyLanes([...lanes.values()], done),
    ]);
  }

  /** The messages of `entries` that pass verification; the dropped ones' ids go to `done` (acked). */
  private async verifyEntries(entries: ReadEntry[], done: EntryRef[]): Promise<VerifiedEntry[]> {
    const verified: (VerifiedEntry | null)[] = entries.map(() => null);
    await forEachAtOnce(
      entries,
      this.deps.settings.tuning.conductorConcurrency,
      async (entry, index) => {
        const { id, stream } = entry;
        let message: ConductorMessage | null;
        try {
          message = await this.verifyEntry(entry);
        } catch (error) {
          this.deps.logger.warn(
            { err: error, entryId: id },
            'conductor: message not verified; it stays pending',
          );
          return;
        }
        if (message) verified[index] = { stream, id, message, readAt: entry.readAt };
        else done.push({ stream, id });
      },
    );
    return verified.filter((entry): entry is VerifiedEntry => entry !== null);
  }

  /** The batch's metrics samples in one INSERT, then one `instance.metrics` per stored sample. */
  private async storeSamples(
    samples: VerifiedEntry<MetricsMessage>[],
    done: EntryRef[],
  ): Promise<void> {
    if (samples.length === 0) return;
    let projects: (string | null)[];
    try {
      projects = await storeMetricsSamples(
        this.deps.prisma,
        samples.map((entry) => entry.message),
      );
    } catch (error) {
      this.deps.logger.warn(
        { err: error, samples: samples.length },
        "conductor: storing a batch's metrics failed; storing them one by one",
      );
      await forEachAtOnce(
        samples,
        this.deps.settings.tuning.conductorConcurrency,
        async (entry) => {
          if (await this.handleVerified(entry)) done.push(refOf(entry));
        },
      );
      return;
    }
    await Promise.all(
      samples.map(async (entry, index) => {
        const projectId = projects[index];
        if (projectId)
          await this.deps.publisher.publish({
            type: 'instance.metrics',
            projectId,
            instanceId: entry.message.instanceId,
          });
        done.push(refOf(entry));
      }),
    );
  }

  /**
   * Each lane holds one instance's entries in stream order (see handleEntries). A heartbeat
   * followed in its lane by a newer one that says the same (the same status, version and volume
   * fault, and at least the same reports) is not written: the newer one writes every column it
   * would have, and it is acked when the newer one is (a burst's beats of one guest, or beats
   * held while the conductor was behind, cost one row, not one statement each).
   */
  private async applyLanes(allLanes: VerifiedEntry[][], done: EntryRef[]): Promise<void> {
    const { prisma, settings } = this.deps;
    const superseded = new Map<VerifiedEntry, EntryRef[]>();
    const lanes = allLanes.map((lane) => coalesced(lane, superseded));
    const finish = (entry: VerifiedEntry) => {
      done.push(refOf(entry));
      const earlier = superseded.get(entry);
      if (earlier) done.push(...earlier);
    };
    for (let round = 0; lanes.some((lane) => round < lane.length); round++) {
      const heads = lanes.filter((lane) => round < lane.length).map((lane) => lane[round]!);
      // A heartbeat saying something else than its guest said last goes straight to the change
      // (one statement, isLikelyChange); the others to the batch's statement first.
      const likely = new Set(heads.filter((entry) => this.isLikelyChange(entry.message)));
      const beats = heads.filter(
        (entry): entry is VerifiedEntry<HeartbeatMessage> =>
          entry.message.kind === 'heartbeat' && !likely.has(entry),
      );
      const written = new Set<VerifiedEntry>();
      const stale = new Set<VerifiedEntry>();
      const tried = new Set<VerifiedEntry>();
      if (beats.length > 0) {
        try {
          const outcomes = await applyUnchangedHeartbeats(
            prisma,
            beats.map((entry) => entry.message),
          );
          for (const entry of beats) tried.add(entry);
          beats.forEach((entry, index) => {
            const outcome = outcomes[index];
            if (outcome === 'stale') stale.add(entry);
            else if (outcome) written.add(entry);
          });
        } catch (error) {
          this.deps.logger.warn(
            { err: error, heartbeats: beats.length },
            "conductor: a batch's heartbeats could not be written at once; applying them one by one",
          );
        }
      }
      for (const entry of written) {
        this.remember(entry.message);
        this.deps.logger.trace(
          { entryId: entry.id, outcome: 'unchanged' },
          'conductor: entry done',
        );
        finish(entry);
      }
      // Overtaken (another conductor applied a newer message of its guest): nothing to write.
      for (const entry of stale) {
        this.deps.logger.trace({ entryId: entry.id, outcome: 'stale' }, 'conductor: entry done');
        finish(entry);
      }
      const rest = heads.filter((entry) => !written.has(entry) && !stale.has(entry));
      await forEachAtOnce(rest, settings.tuning.conductorConcurrency, async (entry) => {
        if (
          await this.handleVerified(entry, {
            isUnchangedTried: tried.has(entry),
            isLikelyChange: likely.has(entry),
          })
        )
          finish(entry);
      });
    }
  }

  /** Applies one verified entry; false when a failed write leaves it pending (it is claimed again later). */
  private async handleVerified(
    entry: VerifiedEntry,
    options: { isUnchangedTried?: boolean; isLikelyChange?: boolean } = {},
  ): Promise<boolean> {
    let outcome: EntryOutcome;
    try {
      outcome = await this.applyMessage(entry, options);
    } catch (error) {
      this.deps.logger.warn(
        { err: error, entryId: entry.id },
        'conductor: message not applied; it stays pending',
      );
      return false;
    }
    if (outcome !== 'stale') this.remember(entry.message);
    this.deps.logger.trace({ entryId: entry.id, outcome }, 'conductor: entry done');
    return true;
  }

  private drop(id: string, reason: string, extra: Record<string, unknown> = {}): null {
    this.deps.logger.warn({ entryId: id, reason, ...extra }, 'conductor: dropped a message');
    return null;
  }

  /**
   * The entry's message, once its HMAC is checked with the key of the instance named inside the
   * signed body, its shape parsed and its `sentAt` found within the skew window; null when it is
   * dropped (forged, malformed, unknown instance, out of the window).
   */
  private async verifyEntry({ id, body, sig, json }: ReadEntry): Promise<ConductorMessage | null> {
    if (body === undefined || sig === undefined) return this.drop(id, 'missing body or sig');
    if (json === undefined) return this.drop(id, 'body is not JSON');
    const named = bodyInstanceSchema.safeParse(json);
    if (!named.success) return this.drop(id, 'body names no instance');
    const { instanceId } = named.data;

    // The key of the instance named inside the signed body: a guest can only speak for itself.
    let signingKey = await this.signingKeyOf(instanceId, { isFresh: false });
    if (!signingKey) return this.drop(id, 'unknown or deleted instance', { instanceId });
    if (!isValidSignature(signingKey, body, sig)) {
      // A cached key could in principle be outdated: check once against the database.
      signingKey = await this.signingKeyOf(instanceId, { isFresh: true });
      if (!signingKey || !isValidSignature(signingKey, body, sig))
        return this.drop(id, 'bad signature', { instanceId });
    }

    const parsed = conductorMessageSchema.safeParse(json);
    if (!parsed.success)
      return this.drop(id, 'not a conductor message', {
        instanceId,
        problem: z.prettifyError(parsed.error),
      });
    const message: ConductorMessage = parsed.data;

    // The guest's clock is only trusted within the skew window of ours when the entry arrived.
    const receivedAt = arrivalTimeOf(id);
    const skewMs = message.sentAt - receivedAt;
    if (Math.abs(skewMs) > this.deps.settings.conductorClockSkewMs)
      return this.drop(id, "sentAt is outside the skew window of the control plane's clock", {
        instanceId,
        kind: message.kind,
        sentAt: message.sentAt,
        receivedAt,
        skewMs,
      });
    return message;
  }

  /** Applies one verified message on its own (the path of everything the batch writes do not take). */
  private async applyMessage(
    { id, message, readAt }: VerifiedEntry,
    options: { isUnchangedTried?: boolean; isLikelyChange?: boolean } = {},
  ): Promise<EntryOutcome> {
    const { instanceId } = message;
    if (message.kind === 'backup') return this.applyBackup(id, message.instanceId, message.payload);
    if (message.kind === 'event') return applyEventMessage(this.deps, message);
    if (message.kind === 'metrics')
      return applyMetricsMessage(this.deps, message, this.secrets.get(instanceId)?.projectId);

    const outcome = await applyConductorMessage(this.deps.prisma, message, new Date(), options);
    if (!outcome.isApplied) {
      this.deps.logger.debug(
        { entryId: id, instanceId, kind: message.kind, epoch: message.epoch, seq: message.seq },
        'conductor: stale message',
      );
      return 'stale';
    }
    if (outcome.isVisibleChange) {
      const detail =
        message.kind === 'heartbeat'
          ? { serviceStatus: message.payload.serviceStatus }
          : { fault: message.payload.message };
      // Where a change's time went: in the stream until read, then until written.
      this.deps.logger.info(
        {
          instanceId,
          kind: message.kind,
          ...detail,
          entryId: id,
          waitedMs: readAt - arrivalTimeOf(id, readAt),
          writtenInMs: Date.now() - readAt,
        },
        'conductor: instance changed',
      );
      await this.deps.publisher.publish({
        type: 'instance.changed',
        projectId: outcome.projectId,
        instanceId,
      });
      return 'applied';
    }
    return 'unchanged';
  }

  /** A backup's progress or end: written to that backup (if it is this instance's), then a `backup.changed` event. */
  private async applyBackup(
    id: string,
    instanceId: string,
    report: BackupReport,
  ): Promise<EntryOutcome> {
    const outcome = await applyBackupReport(this.deps.prisma, instanceId, report);
    if (!outcome.isApplied) {
      this.deps.logger.debug(
        { entryId: id, instanceId, backupId: report.backupId, status: report.status },
        "conductor: backup report not applied (stale, ended, or not this instance's)",
      );
      return 'stale';
    }
    if (report.status !== 'BUILDING') {
      this.deps.logger.info(
        { instanceId, backupId: report.backupId, status: report.status, fault: report.message },
        'conductor: backup ended',
      );
    }
    await this.deps.publisher.publish({
      type: 'backup.changed',
      projectId: outcome.projectId,
      instanceId,
      backupId: outcome.backupId,
    });
    return 'applied';
  }

  private async signingKeyOf(
    instanceId: string,
    { isFresh }: { isFresh: boolean },
  ): Promise<Buffer | null> {
    const cached = this.secrets.get(instanceId);
    if (!isFresh && cached && cached.expiresAt > Date.now()) return cached.signingKey;
    this.secrets.delete(instanceId);
    const row = await this.deps.prisma.instance.findUnique({
      where: { id: instanceId },
      select: { guestSecretEnc: true, deletedAt: true, projectId: true },
    });
    if (!row?.guestSecretEnc || row.deletedAt) return null;
    let signingKey: Buffer;
    try {
      signingKey = guestKeys(
        openGuestSecret(this.deps.settings.masterKey, instanceId, row.guestSecretEnc),
      ).signing;
    } catch (error) {
      this.deps.logger.error(
        { err: error, instanceId },
        "conductor: the instance's guest secret does not open with this master key",
      );
      return null;
    }
    if (this.secrets.size >= SECRET_CACHE_MAX) {
      const oldest = this.secrets.keys().next().value;
      if (oldest !== undefined) this.secrets.delete(oldest);
    }
    this.secrets.set(instanceId, {
      signingKey,
      projectId: row.projectId,
      expiresAt: Date.now() + SECRET_CACHE_TTL_MS,
    });
    return signingKey;
  }

  /**
   * Claims entries pending for too long (a dead conductor's, or ours after a failed write) and
   * applies them, in every stream this process reads.
   */
  async reclaim(): Promise<number> {
    let claimed = 0;
    for (const stream of this.streams) {
      if (this.isStopped) break;
      claimed += await this.reclaimFrom(stream);
    }
    if (claimed > 0) this.deps.logger.info({ claimed }, 'conductor: reclaimed pending messages');
    return claimed;
  }

  private async reclaimFrom(stream: string): Promise<number> {
    const { redis, settings } = this.deps;
    let cursor = '0-0';
    let claimed = 0;
    do {
      const reply = (await redis.xautoclaim(
        stream,
        this.group,
        this.consumer,
        settings.tuning.conductorReclaimIdleMs,
        cursor,
        'COUNT',
        settings.tuning.conductorBatchSize,
      )) as [string, (StreamEntry | null)[], string[]?];
      cursor = reply[0];
      if (this.isStopped) return claimed;
      const entries = reply[1].filter((entry): entry is StreamEntry => entry !== null);
      claimed += entries.length;
      await this.handleEntries(stream, entries);
    } while (cursor !== '0-0' && !this.isStopped);
    return claimed;
  }

  /**
   * Drops acknowledged history from the streams this process reads: everything older than
   * every group's oldest pending or undelivered entry.
   */
  async trim(): Promise<void> {
    for (const stream of this.streams) await this.trimStream(stream);
  }

  private async trimStream(stream: string): Promise<void> {
    const { redis } = this.deps;
    const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
    let keepFrom: string | null = null;
    for (const group of groups) {
      const info = new Map<string, unknown>();
      for (let index = 0; index + 1 < group.length; index += 2)
        info.set(String(group[index]), group[index + 1]);
      const name = String(info.get('name'));
      let oldest = String(info.get('last-delivered-id') ?? '0-0');
      const pending = (await redis.xpending(stream, name)) as [
        number,
        string | null,
        string | null,
        unknown,
      ];
      if (pending[0] > 0 && pending[1] && compareIds(pending[1], oldest) < 0) oldest = pending[1];
      if (keepFrom === null || compareIds(oldest, keepFrom) < 0) keepFrom = oldest;
    }
    if (keepFrom && keepFrom !== '0-0') {
      const removed = await redis.xtrim(stream, 'MINID', '~', keepFrom);
      if (removed > 0)
        this.deps.logger.debug({ removed, stream }, 'conductor: trimmed acknowledged history');
    }
  }
}

/**
 * When an entry reached the stream, on the control plane's clock: Redis stamps the id
 * (`<ms>-<seq>`) at XADD, so an entry claimed again after an outage keeps its arrival time.
 * Never later than now (an entry added with an explicit id from the future proves nothing).
 */
export function arrivalTimeOf(entryId: string, now = Date.now()): number {
  const ms = Number(entryId.split('-')[0]);
  return Number.isSafeInteger(ms) ? Math.min(ms, now) : now;
}

/** The instances `entries` name. */
function keysOf(entries: ReadEntry[]): Set<string> {
  return new Set(entries.flatMap((entry) => (entry.key === null ? [] : [entry.key])));
}

function refOf({ stream, id }: EntryRef): EntryRef {
  return { stream, id };
}

/** An entry of `stream`: its fields, its body parsed once (undefined when it is not JSON). */
function readEntry(stream: string, [id, fields]: StreamEntry, readAt: number): ReadEntry {
  const values = new Map<string, string>();
  for (let index = 0; index + 1 < fields.length; index += 2)
    values.set(fields[index]!, fields[index + 1]!);
  const body = values.get('body');
  let json: unknown;
  try {
    json = body === undefined ? undefined : JSON.parse(body);
  } catch {
    json = undefined;
  }
  let key: string | null = null;
  let said: string | null = null;
  if (typeof json === 'object' && json !== null) {
    const { instanceId, kind, payload } = json as Record<string, unknown>;
    if (typeof instanceId === 'string') {
      key = instanceId.toLowerCase();
      if (kind === 'heartbeat' && typeof payload === 'object' && payload !== null)
        said = saidOf(payload);
    }
  }
  return { stream, id, body, sig: values.get('sig'), json, key, said, readAt };
}

/**
 * `lane` without the heartbeats that the next entry supersedes: a heartbeat newer by epoch then
 * seq that says the same (saidOf) and carries a replication and a volume report wherever the
 * earlier one did, so that writing it alone leaves the row as writing both in order would
 * (what users see included). The ids left out are recorded under the entry that supersedes them.
 */
function coalesced(
  lane: VerifiedEntry[],
  superseded: Map<VerifiedEntry, EntryRef[]>,
): VerifiedEntry[] {
  const kept: VerifiedEntry[] = [];
  for (const entry of lane) {
    const previous = kept.at(-1);
    if (previous && supersedes(entry.message, previous.message)) {
      superseded.set(entry, [...(superseded.get(previous) ?? []), refOf(previous)]);
      superseded.delete(previous);
      kept[kept.length - 1] = entry;
    } else kept.push(entry);
  }
  return kept;
}

function supersedes(later: ConductorMessage, earlier: ConductorMessage): boolean {
  if (later.kind !== 'heartbeat' || earlier.kind !== 'heartbeat') return false;
  const isNewer =
    later.epoch > earlier.epoch || (later.epoch === earlier.epoch && later.seq > earlier.seq);
  return (
    isNewer &&
    saidOf(later.payload) === saidOf(earlier.payload) &&
    (earlier.payload.replication === undefined ||
      (later.payload.replication !== undefined &&
        replicationSaidOf(later.payload.replication) ===
          replicationSaidOf(earlier.payload.replication))) &&
    (earlier.payload.volume === undefined || later.payload.volume !== undefined)
  );
}

/** A replication report's state and error (a change of either is one the timeline may record). */
function replicationSaidOf(
  report: NonNullable<HeartbeatMessage['payload']['replication']>,
): string {
  return JSON.stringify([
    deriveReplicationState(report.replica),
    describeReplicationError(report.replica),
  ]);
}

/** What a heartbeat says that users see (compared by triage: a difference is a likely change). */
function saidOf(payload: {
  serviceStatus?: unknown;
  guestVersion?: unknown;
  volume?: { fault?: unknown } | null;
}): string {
  return JSON.stringify([
    payload.serviceStatus,
    payload.guestVersion,
    payload.volume?.fault ?? null,
  ]);
}

/** Runs `apply` over `items`, at most `limit` at once. */
async function forEachAtOnce<T>(
  items: readonly T[],
  limit: number,
  apply: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const work = async () => {
    for (let index = next++; index < items.length; index = next++)
      await apply(items[index]!, index);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, work));
}

/** Orders stream ids (`<ms>-<seq>`). */
export function compareIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split('-').map(BigInt);
  const [bMs = 0n, bSeq = 0n] = b.split('-').map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  if (aSeq !== bSeq) return aSeq < bSeq ? -1 : 1;
  return 0;
}
