import { type ComputeProvider } from '@coffer/compute';
import {
  TASKMANAGER_QUEUE,
  taskmanagerJobId,
  type TaskmanagerJobName,
  type TaskStatus,
} from '@coffer/contracts';
import { type PrismaClient } from '@coffer/db';
import { faultFields } from '@coffer/db/domain/faults';
import { Queue } from 'bullmq';
import { type Redis } from 'ioredis';

import { recordInstanceEvent } from '../conductor/apply-event';
import { type ChangePublisher } from '../events';
import { type GuestRedisAccess, reconcileGuestRedisUsers } from '../guest-redis-access';
import { type Logger } from '../logger';
import { sweepMetrics } from '../metrics/rollup';
import { type WorkerSettings } from '../settings';
import { enqueueTaskmanagerJob, LIVE_JOB_STATES } from '../taskmanager/enqueue';
import { BackupSweeper, type BackupSweepReport } from './backup-sweeps';
import { RedisLease } from './redis-lock';
import { settleResizes } from './settle-resizes';
import { Suspects } from './suspects';

/**
 * The watchdog: timers, each sweep under a Redis lease so that of several workers one acts.
 *
 * - Heartbeat expiry (every few seconds): an instance with no task whose guest has been
 *   silent for longer than the expiry becomes SHUTDOWN (so lists never show ACTIVE forever).
 * - Reconciliation (at start, then every minute or so): servers without a live row are
 *   deleted once they have been seen orphaned for the grace period (a create in flight
 *   writes its row first, but give it time); rows left BUILDING without a create job become
 *   ERROR (or NONE, when the guest reports RUNNING: it was built); rows DELETING without a
 *   job get their delete job again; rows REBOOTING without a job (seen twice) end the restart;
 *   replication role changes (PROMOTING, EJECTING, DETACHING) whose job ended without ending
 *   them are queued again (each resumes), members no job drives get their task ended.
 *   Guests of live rows are simply adopted: the conductor keeps consuming their stream. Their
 *   own Redis users that Redis lost (a restart without an aclfile) are set up again.
 * - Guest supervision (every few seconds, unless turned off): an instance whose guest agent
 *   died unasked (settled, backing up, restarting, resizing, or being built once its server
 *   exists) gets it started again by the compute provider (`ensureServerRunning`: backoff,
 *   and a bound after which it gives up); each restart, and the giving up, is recorded in the
 *   instance's events, the giving up also as its fault. Never for an instance being deleted,
 *   nor for the source an eject declared gone.
 */

export interface WatchdogDeps {
  prisma: PrismaClient;
  redis: Redis;
  provider: ComputeProvider;
  publisher: ChangePublisher;
  settings: WorkerSettings;
  logger: Logger;
  /** Guests' own Redis users: set up again when Redis lost them, removed with orphaned servers. */
  guestAccess?: GuestRedisAccess;
}

export interface ReconcileReport {
  deletedServers: string[];
  failedBuilds: string[];
  adoptedBuilds: string[];
  requeuedDeletes: string[];
  endedRestarts: string[];
  /** Promotes, ejects and detaches whose job had ended without ending them (stalled out): queued again. */
  requeuedRoleChanges: string[];
  /** Members of a role change that no job drives any more: their task ended, with a fault. */
  endedRoleChanges: string[];
  /** Resizes whose job died: queued again (a volume rolls forward, a flavor back), or ended (settle-resizes.ts). */
  settledResizes: string[];
  /** Live instances whose guest's own Redis user Redis had lost: set up again (guest-redis-access.ts). */
  restoredGuestRedisUsers: string[];
}

/**
 * Task statuses under which a dead guest is started again. BUILDING once the server exists
 * (its id stored): the restarted guest takes back the `prepare` its predecessor had not
 * finished (guest RPC jobs are retried until they ran to their end, and `prepare` is
 * idempotent: apps/guest README). BACKING_UP: the backup under way fails clearly. While
 * replication roles change (PROMOTING, EJECTING, DETACHING) too: the operation's calls wait in
 * the guest's queue and the restarted guest answers them (a server keeps read_only in its
 * config, so a restart changes no role), except the source being ejected: it is declared
 * gone, and a guest started again would make it writable beside the elected replica. Never
 * while deleting (DELETING; the provider also refuses a server being deleted).
 */
const SUPERVISED_TASKS = [
  'NONE',
  'BUILDING',
  'BACKING_UP',
  'REBOOTING',
  'RESIZING',
  'PROMOTING',
  'EJECTING',
  'DETACHING',
] as const;

/**
 * The job that moves members between replication roles, by their task. It is queued under the
 * instance it names (the replica promoted, the source ejected, the replica detached); the
 * other members of the change (the source and siblings of a promote, the replicas of an
 * eject) carry the task without a job of their own.
 */
const ROLE_CHANGE_JOBS = {
  PROMOTING: 'replica.promote',
  EJECTING: 'replica.eject',
  DETACHING: 'replica.detach',
} as const satisfies Partial<Record<TaskStatus, TaskmanagerJobName>>;
type RoleChangeTask = keyof typeof ROLE_CHANGE_JOBS;

export class Watchdog {
  private readonly heartbeatLease: RedisLease;
  private readonly reconcileLease: RedisLease;
  private readonly backupLease: RedisLease;
  private readonly supervisionLease: RedisLease;
  private readonly metricsLease: RedisLease;
  private readonly backups: BackupSweeper;
  private readonly queue: Queue;
  /** When each suspect (an orphaned server, a REBOOTING row without a job) was first seen. */
  private readonly suspects = new Suspects();
  private timers: NodeJS.Timeout[] = [];
  private running = new Set<Promise<unknown>>();
  private isStopped = false;

  constructor(private readonly deps: WatchdogDeps) {
    const { keyPrefix, queuePrefix, tuning } = deps.settings;
    this.heartbeatLease = new RedisLease(
      deps.redis,
      `${keyPrefix}:watchdog:heartbeats`,
      Math.max(10_000, tuning.watchdogIntervalMs * 3),
    );
    this.reconcileLease = new RedisLease(deps.redis, `${keyPrefix}:watchdog:reconcile`, 5 * 60_000);
    this.queue = new Queue(TASKMANAGER_QUEUE, { connection: deps.redis, prefix: queuePrefix });
    this.backupLease = new RedisLease(deps.redis, `${keyPrefix}:watchdog:backups`, 5 * 60_000);
    this.backups = new BackupSweeper({ ...deps, queue: this.queue });
    this.metricsLease = new RedisLease(deps.redis, `${keyPrefix}:watchdog:metrics`, 5 * 60_000);
    this.supervisionLease = new RedisLease(
      deps.redis,
      `${keyPrefix}:watchdog:guests`,
      Math.max(30_000, tuning.guestSupervisionIntervalMs * 3),
    );
  }

  start(): void {
    const { tuning } = this.deps.settings;
    this.every(tuning.watchdogIntervalMs, 'heartbeat expiry', () =>
      this.heartbeatLease.runExclusive(async () => void (await this.expireSilentGuests())),
    );
    this.every(tuning.reconcileIntervalMs, 'reconciliation', () =>
      this.reconcileLease.runExclusive(async () => void (await this.reconcile())),
    );
    this.every(tuning.backupScheduleIntervalMs, 'backup sweep', () =>
      this.backupLease.runExclusive(async () => void (await this.sweepBackups())),
    );
    // Metrics rollups and retention (../metrics/rollup.ts), once a minute.
    this.every(60_000, 'metrics sweep', () =>
      this.metricsLease.runExclusive(() => sweepMetrics(this.deps.prisma)),
    );
    if (tuning.guestSupervisionIntervalMs > 0) {
      this.every(tuning.guestSupervisionIntervalMs, 'guest supervision', () =>
        this.supervisionLease.runExclusive(async () => void (await this.superviseGuests())),
      );
    }
    this.deps.logger.info(
      {
        intervalMs: tuning.watchdogIntervalMs,
        reconcileIntervalMs: tuning.reconcileIntervalMs,
        expirySeconds: this.deps.settings.heartbeatExpirySeconds,
      },
      'watchdog started',
    );
  }

  async stop(): Promise<void> {
    this.isStopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
    await Promise.allSettled([...this.running]);
    await this.queue.close();
  }

  /** Runs `task` now and then `intervalMs` after each run ends. */
  private every(intervalMs: number, what: string, task: () => Promise<unknown>): void {
    const tick = () => {
      if (this.isStopped) return;
      const run = task()
        .catch((error: unknown) =>
          this.deps.logger.warn({ err: error }, `watchdog: ${what} failed`),
        )
        .finally(() => {
          this.running.delete(run);
          if (!this.isStopped) this.timers.push(setTimeout(tick, intervalMs));
        });
      this.running.add(run);
    };
    tick();
  }

  /** Due backup schedules, retention, and backups or tasks nobody runs any more (backup-sweeps.ts). */
  sweepBackups(now: Date = new Date()): Promise<BackupSweepReport> {
    return this.backups.sweep(now, {
      graceMs: Math.min(this.deps.settings.tuning.orphanGraceMs, 60_000),
    });
  }

  /**
   * Starts again the guests that died unasked (through the provider, which keeps the backoff
   * and the bound), and records what it did in the instances' events. Returns what it did.
   */
  async superviseGuests(): Promise<{ restarted: string[]; gaveUp: string[] }> {
    const { prisma, provider, publisher, logger } = this.deps;
    const done = { restarted: [] as string[], gaveUp: [] as string[] };
    const rows = await prisma.instance.findMany({
      where: {
        deletedAt: null,
        computeServerId: { not: null },
        taskStatus: { in: [...SUPERVISED_TASKS] },
        NOT: { taskStatus: 'EJECTING', replicaOfId: null },
      },
      select: { id: true, projectId: true, computeServerId: true },
    });
    for (const row of rows) {
      if (this.isStopped) break;
      const outcome = await provider.ensureServerRunning(row.computeServerId!);
      const instance = { instanceId: row.id, projectId: row.projectId };
      if (outcome.state === 'restarted') {
        logger.warn(
          { instanceId: row.id, restarts: outcome.restarts },
          'watchdog: the guest died unasked and was started again',
        );
        await recordInstanceEvent(prisma, instance, {
          kind: 'guest_restarted',
          message: `The guest agent stopped without being asked to and was started again (restart ${outcome.restarts} in the last minutes).`,
        });
        done.restarted.push(row.id);
      } else if (outcome.state === 'given-up' && outcome.isNew) {
        const message = `The guest agent keeps stopping: it was started again ${outcome.restarts} times and is not started any more. Restart the instance to try again; if it keeps stopping, its log says why.`;
        logger.error(
          { instanceId: row.id, restarts: outcome.restarts },
          'watchdog: the guest keeps dying',
        );
        await recordInstanceEvent(prisma, instance, { kind: 'guest_crash_loop', message });
        await prisma.instance.updateMany({
          where: { id: row.id, deletedAt: null },
          data: faultFields({ message }),
        });
        done.gaveUp.push(row.id);
      } else continue;
      await publisher.publish({
        type: 'instance.changed',
        projectId: row.projectId,
        instanceId: row.id,
      });
    }
    return done;
  }

  /** Instances with no task whose guest has been silent past the expiry → SHUTDOWN. Returns their ids. */
  async expireSilentGuests(now: Date = new Date()): Promise<string[]> {
    const cutoff = new Date(now.getTime() - this.deps.settings.heartbeatExpirySeconds * 1000);
    const rows = await this.deps.prisma.instance.updateManyAndReturn({
      where: {
        taskStatus: 'NONE',
        deletedAt: null,
        serviceStatus: { notIn: ['SHUTDOWN', 'FAILED', 'NEW'] },
        OR: [{ lastHeartbeatAt: null }, { lastHeartbeatAt: { lt: cutoff } }],
      },
      data: { serviceStatus: 'SHUTDOWN' },
      select: { id: true, projectId: true, lastHeartbeatAt: true },
    });
    for (const row of rows) {
      this.deps.logger.warn(
        { instanceId: row.id, lastHeartbeatAt: row.lastHeartbeatAt },
        'watchdog: the guest went silent; instance is SHUTDOWN',
      );
      await this.deps.publisher.publish({
        type: 'instance.changed',
        projectId: row.projectId,
        instanceId: row.id,
      });
    }
    return rows.map((row) => row.id);
  }

  private async jobState(name: TaskmanagerJobName, instanceId: string): Promise<string> {
    const job = await this.queue.getJob(taskmanagerJobId(name, instanceId));
    return job ? await job.getState() : 'missing';
  }

  async reconcile(now: Date = new Date()): Promise<ReconcileReport> {
    const { prisma, provider, publisher, settings, logger } = this.deps;
    const graceMs = settings.tuning.orphanGraceMs;
    const report: ReconcileReport = {
      deletedServers: [],
      failedBuilds: [],
      adoptedBuilds: [],
      requeuedDeletes: [],
      endedRestarts: [],
      requeuedRoleChanges: [],
      endedRoleChanges: [],
      settledResizes: [],
      restoredGuestRedisUsers: [],
    };
    this.suspects.startPass();

    // Servers without a live row.
    const servers = await provider.listServers();
    const liveIds = new Set(
      (
        await prisma.instance.findMany({
          where: { id: { in: servers.map((server) => server.instanceId) }, deletedAt: null },
          select: { id: true },
        })
      ).map((row) => row.id),
    );
    for (const server of servers) {
      if (liveIds.has(server.instanceId)) continue;
      if (!this.suspects.isSuspectFor(`server:${server.serverId}`, graceMs, now.getTime()))
        continue;
      logger.warn(
        { serverId: server.serverId, instanceId: server.instanceId },
        'watchdog: deleting a server that has no instance',
      );
      await provider.deleteServer(server.serverId);
      await this.deps.guestAccess?.removeUser(server.instanceId);
      report.deletedServers.push(server.serverId);
    }
    const serverInstances = new Set(servers.map((server) => server.instanceId));

    // Builds nobody is running any more.
    const building = await prisma.instance.findMany({
      where: {
        taskStatus: 'BUILDING',
        deletedAt: null,
        createdAt: { lt: new Date(now.getTime() - graceMs) },
      },
      select: { id: true, projectId: true, serviceStatus: true },
    });
    for (const row of building) {
      if (LIVE_JOB_STATES.has(await this.jobState('instance.create', row.id))) continue;
      if (serverInstances.has(row.id) && row.serviceStatus === 'RUNNING') {
        const { count } = await prisma.instance.updateMany({
          where: { id: row.id, taskStatus: 'BUILDING' },
          data: { taskStatus: 'NONE' },
        });
        if (count > 0) report.adoptedBuilds.push(row.id);
      } else {
        const message = serverInstances.has(row.id)
          ? 'The build was interrupted and cannot be resumed; delete the instance and create it again.'
          : 'The build was interrupted before its server existed; delete the instance and create it again.';
        const { count } = await prisma.instance.updateMany({
          where: { id: row.id, taskStatus: 'BUILDING' },
          data: { taskStatus: 'BUILDING_ERROR', ...faultFields({ message }, now) },
        });
        if (count > 0) report.failedBuilds.push(row.id);
      }
      logger.warn({ instanceId: row.id }, 'watchdog: settled a build that no job runs');
      await publisher.publish({
        type: 'instance.changed',
        projectId: row.projectId,
        instanceId: row.id,
      });
    }

    // Deletes whose job was lost or gave up: ask again (the deterministic job id keeps it to one).
    const deleting = await prisma.instance.findMany({
      where: { taskStatus: 'DELETING' },
      select: { id: true },
    });
    for (const row of deleting) {
      const jobId = taskmanagerJobId('instance.delete', row.id);
      const job = await this.queue.getJob(jobId);
      const state = job ? await job.getState() : 'missing';
      if (LIVE_JOB_STATES.has(state)) continue;
      if (job) await job.remove().catch(() => undefined);
      await enqueueTaskmanagerJob(this.queue, 'instance.delete', row.id, { instanceId: row.id });
      logger.warn(
        { instanceId: row.id, previousState: state },
        'watchdog: queued the delete again',
      );
      report.requeuedDeletes.push(row.id);
    }

    // Restarts whose job is gone (seen twice, so a restart being queued right now is left alone).
    const rebooting = await prisma.instance.findMany({
      where: { taskStatus: 'REBOOTING', deletedAt: null },
      select: { id: true, projectId: true },
    });
    for (const row of rebooting) {
      if (LIVE_JOB_STATES.has(await this.jobState('instance.restart', row.id))) continue;
      if (
        !this.suspects.isSuspectFor(`restart:${row.id}`, Math.min(graceMs, 60_000), now.getTime())
      )
        continue;
      const { count } = await prisma.instance.updateMany({
        where: { id: row.id, taskStatus: 'REBOOTING' },
        data: {
          taskStatus: 'NONE',
          ...faultFields(
            { message: 'The restart was interrupted; restart the instance again.' },
            now,
          ),
        },
      });
      if (count === 0) continue;
      report.endedRestarts.push(row.id);
      await publisher.publish({
        type: 'instance.changed',
        projectId: row.projectId,
        instanceId: row.id,
      });
    }

    await this.settleRoleChanges(now, report);
    report.settledResizes = await settleResizes({
      ...this.deps,
      queue: this.queue,
      suspects: this.suspects,
      graceMs: Math.min(graceMs, 60_000),
      now,
    });
    if (this.deps.guestAccess) {
      report.restoredGuestRedisUsers = await reconcileGuestRedisUsers({
        prisma,
        access: this.deps.guestAccess,
        logger,
      });
    }

    this.suspects.endPass();
    const acted = Object.values(report).some((ids: string[]) => ids.length > 0);
    if (acted) logger.info(report, 'watchdog: reconciliation acted');
    return report;
  }

  /**
   * Replication role changes nobody runs any more (seen for the grace period, so one being
   * queued right now is left alone). The job of a member that holds one, but whose job ended
   * without ending the change (BullMQ fails a job whose worker died too many times, without
   * the operation recording it), is queued again: promote, eject and detach each resume from
   * where they stopped. A member whose change no job drives (no job of that kind on it or on
   * the members it could belong to) gets its task ended, with a fault saying so.
   */
  private async settleRoleChanges(now: Date, report: ReconcileReport): Promise<void> {
    const { prisma, publisher, settings, logger } = this.deps;
    const graceMs = Math.min(settings.tuning.orphanGraceMs, 60_000);
    const rows = await prisma.instance.findMany({
      where: {
        taskStatus: { in: Object.keys(ROLE_CHANGE_JOBS) as RoleChangeTask[] },
        deletedAt: null,
      },
      select: { id: true, projectId: true, taskStatus: true, replicaOfId: true },
    });
    for (const row of rows) {
      const task = row.taskStatus as RoleChangeTask;
      const name = ROLE_CHANGE_JOBS[task];
      const own = await this.queue.getJob(taskmanagerJobId(name, row.id));
      const ownState = own ? await own.getState() : 'missing';
      if (LIVE_JOB_STATES.has(ownState)) continue;
      if (own) {
        if (!this.suspects.isSuspectFor(`role:${row.id}`, graceMs, now.getTime())) continue;
        await own.remove().catch(() => undefined);
        await enqueueTaskmanagerJob(this.queue, name, row.id, { instanceId: row.id });
        logger.warn(
          { instanceId: row.id, job: name, previousState: ownState },
          'watchdog: queued a replication role change again',
        );
        report.requeuedRoleChanges.push(row.id);
        continue;
      }
      // Which members' jobs could drive this one: its source (a promote past its point of no
      // return, an eject), its siblings (a promote before it), its replicas (the source of a
      // promote).
      const related = await prisma.instance.findMany({
        where: {
          deletedAt: null,
          taskStatus: task,
          OR: [
            ...(row.replicaOfId ? [{ id: row.replicaOfId }, { replicaOfId: row.replicaOfId }] : []),
            { replicaOfId: row.id },
          ],
          NOT: { id: row.id },
        },
        select: { id: true },
      });
      let isDriven = false;
      for (const member of related) {
        if ((await this.jobState(name, member.id)) !== 'missing') isDriven = true;
      }
      if (isDriven) continue;
      if (!this.suspects.isSuspectFor(`role:${row.id}`, graceMs, now.getTime())) continue;
      const { count } = await prisma.instance.updateMany({
        where: { id: row.id, taskStatus: task },
        data: {
          taskStatus: 'NONE',
          ...faultFields(
            {
              message:
                'A change of replication roles was interrupted before it ended; check the replication panel, and promote or detach again if needed.',
            },
            now,
          ),
        },
      });
      if (count === 0) continue;
      logger.warn(
        { instanceId: row.id, task },
        'watchdog: ended a replication role change that no job runs',
      );
      report.endedRoleChanges.push(row.id);
      await publisher.publish({
        type: 'instance.changed',
        projectId: row.projectId,
        instanceId: row.id,
      });
    }
  }
}
