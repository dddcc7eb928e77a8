import { type ComputeProvider } from '@coffer/compute';
import { type TaskStatus } from '@coffer/contracts';
import { type PrismaClient } from '@coffer/db';
import { faultFields } from '@coffer/db/domain/faults';
import { type Redis } from 'ioredis';

import { type ChangeFeed, type ChangePublisher } from '../events';
import { type GuestRedisAccess } from '../guest-redis-access';
import { type Logger } from '../logger';
import { type WorkerSettings } from '../settings';

/** What every taskmanager operation gets: the dependencies, the job's logger, and a signal that ends it at its next step. */
export interface OperationContext {
  prisma: PrismaClient;
  /** The shared connection (non-blocking commands: casts, queue admin, publish). */
  redis: Redis;
  provider: ComputeProvider;
  settings: WorkerSettings;
  publisher: ChangePublisher;
  feed: ChangeFeed;
  /** Each guest's own Redis user, or the shared URL (guest-redis-access.ts). */
  guestAccess: GuestRedisAccess;
  logger: Logger;
  /** Aborts on shutdown and when the attempt runs out of time. */
  signal: AbortSignal;
}

/** A fault a tenant can read: the message goes to Instance.faultMessage, the details to faultDetails. */
export interface Fault {
  message: string;
  details?: string;
}

/**
 * The operation failed for good, for a reason the tenant should read (a guest that did not
 * start in time, a prepare that failed): it is recorded on the instance and not retried.
 */
export class OperationFailure extends Error {
  readonly fault: Fault;

  constructor(message: string, details?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OperationFailure';
    this.fault = {
      message: message.slice(0, 2000),
      ...(details ? { details: details.slice(0, 20_000) } : {}),
    };
  }
}

export type OperationResult =
  | { outcome: 'done' }
  /** Nothing to do: the instance is gone, being deleted, or the operation already finished. */
  | { outcome: 'skipped'; reason: string }
  /** Failed for good and recorded on the instance. */
  | { outcome: 'failed'; fault: Fault };

export interface Operation<P> {
  run(ctx: OperationContext, payload: P): Promise<OperationResult>;
  /** Records a failure for good on the instance (a fault; the task status it ends in) and publishes it. */
  recordFailure(
    ctx: Omit<OperationContext, 'signal'>,
    instanceId: string,
    fault: Fault,
  ): Promise<void>;
}

export function skipped(reason: string): OperationResult {
  return { outcome: 'skipped', reason };
}

/**
 * Writes a failure for good on the instance: the fault the tenant reads, and (when
 * `fromTask` is given) the task status it ends in, only if the instance is still in
 * `fromTask` (a delete that came meanwhile wins). Then tells the consoles.
 */
export async function recordInstanceFault(
  ctx: Omit<OperationContext, 'signal'>,
  instanceId: string,
  fault: Fault,
  options: { what: string; fromTask?: TaskStatus; toTask?: TaskStatus; level?: 'warn' | 'error' },
): Promise<void> {
  const rows = await ctx.prisma.instance.updateManyAndReturn({
    where: {
      id: instanceId,
      ...(options.fromTask ? { taskStatus: options.fromTask, deletedAt: null } : {}),
    },
    data: {
      ...(options.toTask ? { taskStatus: options.toTask } : {}),
      ...faultFields(fault),
    },
    select: { projectId: true },
  });
  const [row] = rows;
  if (!row) return;
  ctx.logger[options.level ?? 'warn']({ fault: fault.message }, `${options.what} failed`);
  await ctx.publisher.publish({ type: 'instance.changed', projectId: row.projectId, instanceId });
}
