import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

import {
  decodeFailureReason,
  GUEST_RPC_MAX_TTL_MS,
  guestMethods,
  guestQueueName,
  isGuestFailure,
  type GuestFailure,
  type GuestMethod,
  type GuestParams,
  type GuestResult,
  type GuestRpcBody,
  type GuestRpcEnvelope,
  type SealedSecret,
} from '@coffer/contracts';
import { guestKeys, sealSecret, signBody } from '@coffer/contracts/crypto';
import { Job, Queue, QueueEvents } from 'bullmq';
import { type Redis } from 'ioredis';
import { z } from 'zod';

/**
 * The taskmanager's side of the guest RPC (Trove's guestagent/api.py). `cast` adds a signed
 * job to the guest's queue and returns; `call` also waits for the guest's answer, with a
 * timeout, and re-parses it with the method's result schema. Secrets that travel in params
 * (user passwords) are sealed with the guest's sealing key, so they sit in Redis unreadable.
 */

export interface GuestClientOptions {
  /** Redis for the queue (the caller owns it; `call` waits on a duplicate of it, which the client owns). */
  connection: Redis;
  instanceId: string;
  /** The guest's own secret (base64), as injected into its agent config. */
  guestSecret: string;
  /** Timeout of `call` when none is given. */
  defaultTimeoutMs?: number;
}

export interface CastOptions {
  /** A deterministic job id makes a retried cast a no-op while the first job is kept. */
  jobId?: string;
  /** How long the guest may still start the job (default a day, at most 7 days). */
  expiresInMs?: number;
}

export interface CallOptions {
  timeoutMs?: number;
}

/**
 * The guest ran the method and it failed; `guestMessage` is the guest's own words. When the
 * guest refused for a reason the caller can fix (the database exists, the user is not
 * there), `failure` holds its code, message and field: the `CofferError` the job's failure
 * reason carries (`decodeFailureReason`, which also reads an old guest's `CODE[field]: message`).
 * Any other code is the guest's own trouble, as a plain reason is: `failure` is null then.
 */
export class GuestRpcError extends Error {
  readonly failure: GuestFailure | null;
  readonly guestMessage: string;

  constructor(
    readonly instanceId: string,
    readonly method: GuestMethod,
    reason: string,
    readonly jobId: string | undefined,
  ) {
    const error = decodeFailureReason(reason);
    const guestMessage = error?.message ?? reason;
    super(`guest ${instanceId}: ${method} failed: ${guestMessage}`);
    this.name = 'GuestRpcError';
    this.guestMessage = guestMessage;
    const failure = error?.toJSON() ?? null;
    this.failure = failure && isGuestFailure(failure) ? failure : null;
  }
}

/** No answer arrived in time (the guest may be down, busy, or the job still waiting). */
export class GuestTimeoutError extends Error {
  constructor(
    readonly instanceId: string,
    readonly method: GuestMethod,
    readonly timeoutMs: number,
    readonly jobId: string | undefined,
    /** What became of the job: removed unrun, or still running on the guest. */
    readonly jobState: 'removed' | 'running' | 'unknown',
  ) {
    super(
      `guest ${instanceId}: ${method} timed out after ${timeoutMs} ms (${
        jobState === 'removed'
          ? 'the guest never took the job; it was withdrawn'
          : jobState === 'running'
            ? 'the guest is still running it'
            : 'job state unknown'
      })`,
    );
    this.name = 'GuestTimeoutError';
  }
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** A cast the guest has not started within a day is stale: it is refused then. */
const DEFAULT_CAST_EXPIRY_MS = 24 * 3600_000;
/** A call expires this long after its timeout (room for the control plane's clocks to differ). */
const CALL_EXPIRY_MARGIN_MS = 5 * 60_000;
/** How often a call also looks at its job itself, in case the event stream missed its end. */
const RESULT_POLL_MS = 1_000;
const KEEP_COMPLETED = { age: 3600, count: 1000 };
const KEEP_FAILED = { age: 24 * 3600, count: 1000 };

export class GuestClient {
  readonly instanceId: string;
  private readonly connection: Redis;
  private readonly keys: { signing: Buffer; sealing: Buffer };
  private readonly defaultTimeoutMs: number;
  private readonly queue: Queue;
  private queueEvents: QueueEvents | null = null;
  private eventsConnection: Redis | null = null;

  constructor(options: GuestClientOptions) {
    this.instanceId = z.uuid().parse(options.instanceId);
    this.connection = options.connection;
    this.keys = guestKeys(options.guestSecret);
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.queue = new Queue(guestQueueName(this.instanceId), { connection: this.connection });
  }

  /** Seals a secret for this guest (it opens it with the same associated data). */
  sealSecret(plaintext: string, associatedData: string): SealedSecret {
    return sealSecret(this.keys.sealing, plaintext, associatedData);
  }

  /** A user's password, sealed as prepare (and later user methods) expect it. */
  sealUserPassword(userName: string, password: string): SealedSecret {
    return this.sealSecret(password, `user:${userName}`);
  }

  /** Adds the job and returns its id; the guest runs it when it can. */
  async cast<M extends GuestMethod>(
    method: M,
    params: GuestParams<M>,
    options: CastOptions = {},
  ): Promise<string> {
    const job = await this.addJob(
      method,
      params,
      options.expiresInMs ?? DEFAULT_CAST_EXPIRY_MS,
      options.jobId,
    );
    return job.id ?? '';
  }

  /** Adds the job and waits for the guest's result. */
  async call<M extends GuestMethod>(
    method: M,
    params: GuestParams<M>,
    options: CallOptions = {},
  ): Promise<GuestResult<M>> {
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const queueEvents = await this.ensureQueueEvents();
    const job = await this.addJob(
      method,
      params,
      Math.min(Math.ceil(timeoutMs) + CALL_EXPIRY_MARGIN_MS, GUEST_RPC_MAX_TTL_MS),
    );
    let raw: unknown;
    try {
      raw = await this.waitUntilFinished(job, queueEvents, timeoutMs);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/timed out before finishing/.test(message)) {
        throw new GuestTimeoutError(
          this.instanceId,
          method,
          timeoutMs,
          job.id,
          await this.withdraw(job),
        );
      }
      throw new GuestRpcError(this.instanceId, method, message, job.id);
    }
    // The answer has been read: it need not wait in Redis for its retention to run out.
    await job.remove().catch(() => undefined);
    const result = guestMethods[method].result.safeParse(raw);
    if (!result.success) {
      throw new GuestRpcError(
        this.instanceId,
        method,
        `unexpected result: ${z.prettifyError(result.error)}`,
        job.id,
      );
    }
    // TypeScript cannot narrow the schema by a generic key; the schema parsed is the method's own.
    return result.data as GuestResult<M>;
  }

  /**
   * Opens now what `call` waits on (its connection and the queue's event stream), so that a
   * caller with other work to do first (a provider call) does not pay for it after.
   */
  async ready(): Promise<void> {
    await this.ensureQueueEvents();
  }

  async close(): Promise<void> {
    await this.queueEvents?.close();
    this.queueEvents = null;
    this.eventsConnection?.disconnect();
    this.eventsConnection = null;
    await this.queue.close();
  }

  private async addJob<M extends GuestMethod>(
    method: M,
    params: GuestParams<M>,
    expiresInMs: number,
    jobId?: string,
  ): Promise<Job> {
    if (!Number.isInteger(expiresInMs) || expiresInMs <= 0 || expiresInMs > GUEST_RPC_MAX_TTL_MS)
      throw new RangeError(
        `expiresInMs must be a whole number of ms from 1 to ${GUEST_RPC_MAX_TTL_MS}`,
      );
    // Producers check what they send: a bad param fails here, not on the guest.
    const parsedParams: unknown = guestMethods[method].params.parse(params);
    const sentAt = Date.now();
    // A request id of its own and an expiry, signed: the guest runs this body once, in time.
    const body: GuestRpcBody = {
      instanceId: this.instanceId,
      method,
      params: parsedParams,
      requestId: randomUUID(),
      sentAt,
      expiresAt: sentAt + expiresInMs,
    };
    const text = JSON.stringify(body);
    const envelope: GuestRpcEnvelope = { body: text, signature: signBody(this.keys.signing, text) };
    return this.queue.add(method, envelope, {
      jobId,
      attempts: 1,
      removeOnComplete: KEEP_COMPLETED,
      removeOnFail: KEEP_FAILED,
    });
  }

  private async ensureQueueEvents(): Promise<QueueEvents> {
    if (!this.queueEvents) {
      // QueueEvents blocks on its connection, so it gets one of its own.
      this.eventsConnection = this.connection.duplicate({ maxRetriesPerRequest: null });
      this.queueEvents = new QueueEvents(this.queue.name, { connection: this.eventsConnection });
    }
    await this.queueEvents.waitUntilReady();
    return this.queueEvents;
  }

  /**
   * The job's result: from the queue's event stream, and, should the stream not carry it (a
   * job that ended just as the stream's reader first started, which BullMQ's reader, reading
   * from `$`, never sees), from the job itself, looked at every {@link RESULT_POLL_MS}.
   */
  private async waitUntilFinished(job: Job, queueEvents: QueueEvents, timeoutMs: number) {
    let settled = false;
    const fromEvents = job.waitUntilFinished(queueEvents, timeoutMs);
    const fromJob = (async (): Promise<unknown> => {
      for (;;) {
        await delay(RESULT_POLL_MS);
        if (settled) return new Promise<never>(() => undefined);
        const current = job.id ? await Job.fromId(this.queue, job.id).catch(() => null) : null;
        if (!current || settled) continue;
        if (current.finishedOn && current.failedReason) throw new Error(current.failedReason);
        if (current.finishedOn) return current.returnvalue as unknown;
      }
    })();
    try {
      return await Promise.race([fromEvents, fromJob]);
    } finally {
      settled = true;
      fromEvents.catch(() => undefined);
      fromJob.catch(() => undefined);
    }
  }

  /** After a timeout: take back a job the guest never started, so it does not run late. */
  private async withdraw(job: Job): Promise<'removed' | 'running' | 'unknown'> {
    try {
      const state = await job.getState();
      if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
        await job.remove();
        return 'removed';
      }
      return state === 'active' ? 'running' : 'unknown';
    } catch {
      return 'unknown';
    }
  }
}
