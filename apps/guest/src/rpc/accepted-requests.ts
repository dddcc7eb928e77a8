import { type GuestRpcBody } from '@coffer/contracts';
import { type Redis } from 'ioredis';

/**
 * The guest's memory of the signed requests it took, so that a signed body runs once: in
 * Redis (it survives a guest restart), one key per request id, `<prefix>:<requestId>`, kept
 * until the request has expired. Time is Redis's (`TIME`), as is the expiry of the keys, and
 * the control plane stamped `expiresAt` with its own clock: the guest's clock plays no part.
 *
 * What is a replay and what is not: BullMQ hands the SAME job back when its guest died or lost
 * the job's lock mid-run (a stalled job); that job is taken again (its methods are idempotent,
 * as `prepare` is). A NEW job carrying a body that another job already carried (whatever its
 * job id), or a job whose request already ran to its end, is a replay and is refused. A
 * re-cast by the control plane (e.g. `prepare` with the same job id after the first job was
 * removed) is a new request with its own id, so it runs.
 */

export type Admission =
  { isAdmitted: true; isRetry: boolean } | { isAdmitted: false; reason: string };

/** Keys outlive the expiry by this much (the expiry check and the key's TTL use one clock). */
const REMEMBER_MARGIN_MS = 60_000;

export class AcceptedRequests {
  constructor(
    private readonly redis: Redis,
    /** e.g. `guest-<instanceId>:accepted`: a key of this guest's own. */
    private readonly keyPrefix: string,
  ) {}

  /** Whether job `jobId` may run `body`'s request; if so, the request is recorded as taken by it. */
  async admit(
    body: Pick<GuestRpcBody, 'requestId' | 'expiresAt'>,
    jobId: string,
  ): Promise<Admission> {
    const now = await this.now();
    if (now > body.expiresAt)
      return { isAdmitted: false, reason: `expired ${now - body.expiresAt} ms ago` };
    const key = this.keyOf(body.requestId);
    const taken = `running:${jobId}`;
    const isNew = await this.redis.set(
      key,
      taken,
      'PXAT',
      body.expiresAt + REMEMBER_MARGIN_MS,
      'NX',
    );
    if (isNew === 'OK') return { isAdmitted: true, isRetry: false };
    const seen = await this.redis.get(key);
    if (seen === taken) return { isAdmitted: true, isRetry: true };
    return {
      isAdmitted: false,
      reason: seen?.startsWith('done:')
        ? 'replayed: this request has already run'
        : 'replayed: another job carries this request',
    };
  }

  /** The request ran to its end (done or failed): the same job handed back is refused too. */
  async markDone(requestId: string, jobId: string): Promise<void> {
    await this.redis.set(this.keyOf(requestId), `done:${jobId}`, 'KEEPTTL', 'XX');
  }

  private keyOf(requestId: string): string {
    return `${this.keyPrefix}:${requestId}`;
  }

  private async now(): Promise<number> {
    const [seconds, microseconds] = await this.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(microseconds) / 1000);
  }
}
