import { guestMethods, type GuestMethod, type GuestResult } from '@coffer/contracts';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
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

export class RpcServer {
  private worker: Worker | null = null;
  private readonly accepted: AcceptedRequests;

  constructor(private readonly options: RpcServerOptions) {
    this.accepted = new AcceptedRequests(options.connection, `${options.queueName}:accepted`);
  }

  start(): void {
    const { connection, queueName, logger } = this.options;
    this.worker = new Worker(queueName, (job) => this.process(job), {
      connection,
      concurrency: 4,
      lockDuration: 60_000,
      // How often this guest looks for jobs whose worker died holding them (a guest restarted
      // after a crash takes its own back): a stalled job is seen by two checks in a row, so up to
      // twice this. BullMQ's default of 30 s made that a minute.
      stalledInterval: 15_000,
      maxStalledCount: 1,
      removeOnComplete: { age: 3600, count: 200 },
      removeOnFail: { age: 24 * 3600, count: 1000 },
    });
    this.worker.on('error', (error) => logger.warn({ err: error }, 'rpc worker error'));
    logger.info({ queue: queueName }, 'consuming the rpc queue');
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

  /** Stops taking jobs; the ones running get `timeoutMs` to finish, then are left to stall (and be retried). */
  async close(timeoutMs: number): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    try {
      await withTimeout(worker.close(), timeoutMs, 'finishing the running rpc jobs');
    } catch (error) {
      this.options.logger.warn(
        { err: error },
        'closing the rpc worker without waiting for its jobs',
      );
      await worker.close(true);
    }
  }
}
