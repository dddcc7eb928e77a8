import { guestMethods, type GuestMethod, type GuestResult } from '@coffer/contracts';
import { Job, UnrecoverableError, Worker } from 'bullmq';
import { type Redis } from 'ioredis';
import { type Logger } from 'pino';

import { type Mutex } from '../lib/mutex';
import { withTimeout } from '../lib/timeout';
import { AcceptedRequests } from './accepted-requests';
import { toJobFailure } from './job-failure';
import { type ParsedParams, verifyRpcJob } from './verify-job';

/**
 * The guest's RPC endpoint (Trove's guestagent RPC server): a BullMQ worker on its own queue.
 * Every job is verified first (verify-job.ts), then admitted once (accepted-requests.ts: not
 * expired, and not a replay of a request another job carried or that already ran); a refused
 * job fails (unrecoverably, so it is never retried) and nothing of it runs. A method that
 * fails fails its job with the error as JSON (job-failure.ts). Methods that change the server
 * run one at a time, in order; `get_status` and the lists answer even while a long prepare runs.
 */

export type RpcHandlers = {
  [M in GuestMethod]: (params: ParsedParams<M>) => Promise<GuestResult<M>>;
};

/**
 * Methods that run at once, beside the one that holds the lock: reads, waiting for a GTID, and
 * a source's replication accounts (one quick statement, which a replica's build must not
 * wait for behind a long backup).
 */
const CONCURRENT_METHODS: ReadonlySet<GuestMethod> = new Set([
  'get_status',
  'list_databases',
  'list_users',
  'list_access',
  'get_replication_status',
  'wait_for_gtid',
  'create_replication_user',
  'drop_replication_user',
  'volume_usage',
  'list_logs',
  'show_log',
  'download_log',
  'publish_log',
]);

export interface RpcServerOptions {
  connection: Redis;
  queueName: string;
  instanceId: string;
  signingKey: Buffer;
  handlers: RpcHandlers;
  /** Serializes the methods that change the server (shared with the guest's boot). */
  mutex: Mutex;
  logger: Logger;
}

/** Times a job its guest died running is run again (BullMQ's maxStalledCount). */
const MAX_STALLED_COUNT = 1;

export class RpcServer {
  private worker: Worker | null = null;
  private readonly accepted: AcceptedRequests;

  constructor(private readonly options: RpcServerOptions) {
    this.accepted = new AcceptedRequests(options.connection, `${options.queueName}:accepted`);
  }

  /**
   * Starts consuming the queue, first handing back at once the jobs a predecessor of this guest
   * held when it died (see takeBackOrphans).
   */
  start(): void {
    const { connection, queueName, logger } = this.options;
    const worker = new Worker(queueName, (job) => this.process(job), {
      connection,
      autorun: false,
      concurrency: 4,
      lockDuration: 60_000,
      // How often this guest looks for jobs whose worker died holding them without this guest
      // starting again after (takeBackOrphans covers a restart): a stalled job is seen by two
      // checks in a row, so up to twice this. BullMQ's default of 30 s made that a minute.
      stalledInterval: 15_000,
      maxStalledCount: MAX_STALLED_COUNT,
      removeOnComplete: { age: 3600, count: 200 },
      removeOnFail: { age: 24 * 3600, count: 1000 },
    });
    this.worker = worker;
    worker.on('error', (error) => logger.warn({ err: error }, 'rpc worker error'));
    void this.takeBackOrphans(worker)
      .catch((error: unknown) =>
        logger.warn({ err: error }, 'could not hand back the jobs of a guest that died'),
      )
      .then(() => {
        if (this.worker !== worker) return;
        logger.info({ queue: queueName }, 'consuming the rpc queue');
        return worker.run();
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'the rpc worker stopped'));
  }

  /**
   * Jobs left active on this guest's queue when it starts were taken by a guest of the same
   * instance that died (one guest per instance runs: the compute provider sees to it), so they
   * are handed back at once instead of after their lock's 60 s and two stalled checks: a guest
   * killed mid-prepare and started again by its supervisor runs the prepare again within a
   * second. As BullMQ's own stalled check does, a job is handed back only MAX_STALLED_COUNT
   * times; after that it fails (a request that kills its guest does not do so forever).
   */
  private async takeBackOrphans(worker: Worker): Promise<void> {
    const { connection, logger } = this.options;
    const activeIds = await connection.lrange(worker.toKey('active'), 0, -1);
    for (const jobId of activeIds) {
      const job = await Job.fromId(worker, jobId);
      if (!job) continue;
      const jobKey = worker.toKey(jobId);
      const token = (await connection.get(`${jobKey}:lock`)) ?? '0';
      const log = logger.child({ jobId, jobName: job.name });
      if (job.stalledCounter >= MAX_STALLED_COUNT) {
        await job.moveToFailed(
          new UnrecoverableError('the guest stopped while running this request, more than once'),
          token,
        );
        log.warn('failed a request its guest stopped while running, more than once');
        continue;
      }
      await connection.hincrby(jobKey, 'stc', 1);
      await job.moveToWait(token);
      log.warn('handed back a request the guest stopped while running, to run again');
    }
  }

  private async process(job: Job): Promise<unknown> {
    const { instanceId, signingKey, handlers, mutex, logger } = this.options;
    const verification = verifyRpcJob(
      { name: job.name, data: job.data },
      { instanceId, signingKey },
    );
    if (!verification.isValid) {
      logger.warn(
        { jobId: job.id, jobName: job.name, reason: verification.reason },
        'refused an rpc job',
      );
      throw new UnrecoverableError(`refused: ${verification.reason}`);
    }
    const { call } = verification;
    const jobId = job.id ?? '';
    const admission = await this.accepted.admit(call.body, jobId);
    if (!admission.isAdmitted) {
      logger.warn(
        {
          jobId: job.id,
          jobName: job.name,
          requestId: call.body.requestId,
          reason: admission.reason,
        },
        'refused an rpc job',
      );
      throw new UnrecoverableError(`refused: ${admission.reason}`);
    }
    const log = logger.child({
      jobId: job.id,
      method: call.method,
      requestId: call.body.requestId,
    });
    const run = async () => {
      const startedAt = Date.now();
      log.info({ isRetry: admission.isRetry }, 'rpc started');
      try {
        // The method and its params were checked together; the cast only joins them back up.
        const handler = handlers[call.method] as (params: unknown) => Promise<unknown>;
        const result = guestMethods[call.method].result.parse(await handler(call.params));
        log.info({ ms: Date.now() - startedAt }, 'rpc done');
        return result;
      } catch (error) {
        log.warn({ err: error, ms: Date.now() - startedAt }, 'rpc failed');
        throw toJobFailure(error);
      } finally {
        await this.accepted
          .markDone(call.body.requestId, jobId)
          .catch((error: unknown) =>
            log.warn({ err: error }, 'could not record the request as run'),
          );
      }
    };
    return CONCURRENT_METHODS.has(call.method) ? run() : mutex.run(run);
  }

  /**
   * Stops taking jobs; the ones running get `timeoutMs` to finish, then are left to stall: the
   * guest exits after this, and the guest started after it hands them back (takeBackOrphans).
   * BullMQ's forced close cannot cut the wait short once a close waits (it returns the same
   * promise), so the wait is simply no longer awaited.
   */
  async close(timeoutMs: number): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    const closing = worker.close();
    try {
      await withTimeout(closing, timeoutMs, 'finishing the running rpc jobs');
    } catch (error) {
      closing.catch(() => undefined);
      this.options.logger.warn(
        { err: error },
        'stopped waiting for the running rpc jobs: they run again in the next guest',
      );
    }
  }
}
