import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { LocalComputeProvider, unmountVolumesUnder, type PortRange } from '@coffer/compute';
import {
  deriveDisplayStatus,
  DEFAULT_CONDUCTOR_SHARDS,
  instanceCreateJobSchema,
  TASKMANAGER_QUEUE,
  taskmanagerJobOptions,
  taskmanagerJobs,
  type DisplayStatus,
  type TaskmanagerJobName,
  type TaskmanagerJobPayload,
} from '@coffer/contracts';
import { jobPayloadKey, sealSecret } from '@coffer/contracts/crypto';
import { type Instance, type PrismaClient } from '@coffer/db';
import { createTestDatabase, type TestDatabase } from '@coffer/db/testing';
import { testPorts } from '@coffer/testing/ports';
import { processesMentioning } from '@coffer/testing/processes';
import { registerSecret } from '@coffer/testing/secrets';
import { waitFor, type WaitOptions } from '@coffer/testing/wait';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { expect } from 'vitest';

import { resolveGuestCommand } from '../src/compute';
import { compareIds } from '../src/conductor/conductor';
import { guestConductorStream } from '../src/conductor/shards';
import { type WorkerEnvOverrides } from '../src/env';
import { guestRedisUserName } from '../src/guest-redis-access';
import { createLogger } from '../src/logger';
import { DEFAULT_NAMES, type WorkerNames, type WorkerTuning } from '../src/settings';
import { startWorker, type RunningWorker, type StartWorkerOptions } from '../src/worker';
import { registerRunSecrets } from './secrets';

/**
 * The worker's integration tests run the real thing: a PostgreSQL database of their own,
 * the Redis of REDIS_URL under names of their own (BullMQ prefix, stream, channel), real
 * guests and mariadbd through the local provider under COFFER_TEST_DATA_DIR, and a port range
 * per test file so files running side by side never hand out the same port.
 */

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const MASTER_KEY = process.env.COFFER_MASTER_KEY ?? randomBytes(32).toString('base64');
const TEST_DATA_DIR = process.env.COFFER_TEST_DATA_DIR ?? join(tmpdir(), 'coffer-test-instances');

/** Short heartbeats so faults show within seconds. */
export const TEST_HEARTBEAT = { intervalSeconds: 1, expirySeconds: 4 };

/** Timings short enough for tests (production uses the defaults of settings.ts). */
export const TEST_TUNING: Partial<WorkerTuning> = {
  jobLockDurationMs: 4_000,
  stalledIntervalMs: 1_000,
  waitFallbackMs: 250,
  conductorBlockMs: 500,
  conductorReclaimIdleMs: 2_000,
  conductorReclaimIntervalMs: 1_000,
  // A killed conductor's shards go to the others within about 2 s.
  conductorMembershipMs: 500,
  conductorMemberTtlMs: 2_000,
  restartCallTimeoutMs: 30_000,
  restartHeartbeatTimeoutMs: 30_000,
  watchdogIntervalMs: 500,
  reconcileIntervalMs: 60_000,
  // Off: tests that kill a guest play a dead host; guest-supervision.test.ts turns it on.
  guestSupervisionIntervalMs: 0,
};

export interface WorkerTestContextOptions {
  /** A name for the test file: part of the data dir, the Redis names and the logs (default: the file's name). */
  name?: string;
  /** Its instances' ports: by default the test file's own (@coffer/testing/ports). */
  portRange?: PortRange;
  /** Standby guests the provider keeps once a worker's taskmanager starts (default none). */
  guestPool?: number;
}

export interface CreatedInstance {
  instanceId: string;
  userName: string;
  password: string;
  databaseName: string;
}

export class WorkerTestContext {
  readonly id: string;
  readonly dataDir: string;
  readonly names: WorkerNames;
  readonly redis: Redis;
  readonly queue: Queue;
  readonly provider: LocalComputeProvider;
  readonly portRange: PortRange;
  readonly logger = createLogger(
    process.env.COFFER_TEST_LOG_LEVEL === undefined
      ? 'silent'
      : (process.env.COFFER_TEST_LOG_LEVEL as 'info'),
  );
  private readonly workers: RunningWorker[] = [];
  db!: TestDatabase;
  projectId!: string;
  flavorId!: string;
  versionId!: string;

  constructor(readonly options: WorkerTestContextOptions = {}) {
    this.portRange = options.portRange ?? testPorts().instances;
    const name =
      options.name ?? basename(expect.getState().testPath ?? 'worker').replace(/\.test\.ts$/, '');
    this.id = `${name}-${randomBytes(4).toString('hex')}`;
    this.dataDir = join(TEST_DATA_DIR, this.id);
    mkdirSync(this.dataDir, { recursive: true });
    this.names = {
      queuePrefix: `wt-${this.id}`,
      conductorStream: `conductor-${this.id}`,
      conductorGroup: 'conductor',
      eventsChannel: `events-${this.id}`,
      keyPrefix: `coffer-${this.id}`,
    };
    assertTestNames(this.names);
    this.redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    this.queue = new Queue(TASKMANAGER_QUEUE, {
      connection: this.redis,
      prefix: this.names.queuePrefix,
    });
    const { kind: _kind, ...guestCommand } = resolveGuestCommand();
    this.provider = new LocalComputeProvider({
      dataDir: this.dataDir,
      guestCommand,
      portRange: this.portRange,
      stopTimeoutMs: 30_000,
      guestPool: options.guestPool,
      // A loaded test machine is never idle enough for the pool's refills to wait for it.
      guestPoolBusyRefillMs: 2000,
    });
  }

  get prisma(): PrismaClient {
    return this.db.prisma;
  }

  async setUp(): Promise<this> {
    this.db = await createTestDatabase();
    const project = await this.prisma.project.create({ data: { name: `worker tests ${this.id}` } });
    this.projectId = project.id;
    const flavor = await this.prisma.flavor.findUniqueOrThrow({ where: { name: 'm1.tiny' } });
    this.flavorId = flavor.id;
    const version = await this.prisma.datastoreVersion.findFirstOrThrow({
      where: { isDefault: true },
    });
    this.versionId = version.id;
    return this;
  }

  /** The environment a worker of this test runs with (what scripts/coffer.mjs would set). */
  workerEnv(overrides: WorkerEnvOverrides = {}): WorkerEnvOverrides {
    return {
      DATABASE_URL: this.db.url,
      REDIS_URL,
      COFFER_MASTER_KEY: MASTER_KEY,
      COFFER_DATA_DIR: this.dataDir,
      COFFER_INSTANCE_PORT_RANGE: `${this.portRange.min}-${this.portRange.max}`,
      COFFER_HEARTBEAT_INTERVAL_SECONDS: TEST_HEARTBEAT.intervalSeconds,
      COFFER_HEARTBEAT_EXPIRY_SECONDS: TEST_HEARTBEAT.expirySeconds,
      LOG_LEVEL: 'silent',
      ...overrides,
    };
  }

  /** The real worker, in this process, against this test's database, Redis names and data dir. */
  async startWorker(options: Omit<StartWorkerOptions, 'names'> = {}): Promise<RunningWorker> {
    assertTestNames(this.names);
    const worker = await startWorker({
      prisma: this.prisma,
      redis: this.redis,
      provider: this.provider,
      logger: this.logger,
      ...options,
      env: this.workerEnv(options.env),
      names: this.names,
      tuning: { ...TEST_TUNING, ...options.tuning },
    });
    this.workers.push(worker);
    return worker;
  }

  /** What the web app does on create: the row in BUILDING/NEW, then `instance.create` with sealed passwords. */
  async createInstance({
    port,
    name,
  }: { port?: number; name?: string } = {}): Promise<CreatedInstance> {
    const userName = 'app_user';
    const databaseName = 'app';
    const password = `Pw-${randomBytes(12).toString('hex')}`;
    registerSecret('the password of app_user', password);
    const row = await this.prisma.instance.create({
      data: {
        projectId: this.projectId,
        name: name ?? `db-${randomBytes(3).toString('hex')}`,
        flavorId: this.flavorId,
        datastoreVersionId: this.versionId,
        volumeSizeGb: 1,
        taskStatus: 'BUILDING',
        serviceStatus: 'NEW',
        ...(port !== undefined ? { host: '127.0.0.1', port } : {}),
      },
    });
    const payload = instanceCreateJobSchema.parse({
      instanceId: row.id,
      databases: [{ name: databaseName }],
      users: [
        {
          name: userName,
          host: '%',
          databases: [databaseName],
          password: sealSecret(jobPayloadKey(MASTER_KEY), password, `user:${userName}`),
        },
      ],
    });
    await this.enqueue('instance.create', row.id, payload);
    return { instanceId: row.id, userName, password, databaseName };
  }

  /** Adds a job with the options the web app uses (the contracts' taskmanagerJobOptions). */
  async enqueue<N extends TaskmanagerJobName>(
    name: N,
    instanceId: string,
    payload: TaskmanagerJobPayload<N>,
  ): Promise<void> {
    await this.queue.add(
      name,
      taskmanagerJobs[name].schema.parse(payload),
      taskmanagerJobOptions(name, instanceId),
    );
  }

  /** The web app's restart: task REBOOTING in one conditional update, then the job. */
  async restartInstance(instanceId: string): Promise<void> {
    const { count } = await this.prisma.instance.updateMany({
      where: {
        id: instanceId,
        taskStatus: 'NONE',
        serviceStatus: { notIn: ['NEW', 'BUILDING', 'FAILED'] },
      },
      data: { taskStatus: 'REBOOTING' },
    });
    if (count !== 1) throw new Error('the instance cannot be restarted now');
    await this.enqueue('instance.restart', instanceId, { instanceId });
  }

  /** The web app's delete: task DELETING, then the job. */
  async deleteInstance(instanceId: string): Promise<void> {
    await registerRunSecrets(this.prisma, MASTER_KEY, this.dataDir);
    await this.prisma.instance.updateMany({
      where: { id: instanceId },
      data: { taskStatus: 'DELETING' },
    });
    await this.enqueue('instance.delete', instanceId, { instanceId });
  }

  async row(instanceId: string): Promise<Instance | null> {
    return this.prisma.instance.findUnique({ where: { id: instanceId } });
  }

  async displayStatus(instanceId: string): Promise<DisplayStatus | 'GONE'> {
    const row = await this.row(instanceId);
    return row ? displayStatusOf(row) : 'GONE';
  }

  /** Until the instance shows ACTIVE, as its tenant would see it (default: within 60 s). */
  async waitForActive(
    instanceId: string,
    { timeoutMs = 60_000, intervalMs, what }: Partial<WaitOptions> = {},
  ): Promise<void> {
    await waitFor(async () => (await this.displayStatus(instanceId)) === 'ACTIVE', {
      timeoutMs,
      intervalMs,
      what: what ?? `instance ${instanceId} ACTIVE`,
    });
  }

  /**
   * The web app's delete, then until the row is gone (the taskmanager's last step, within
   * 60 s); then nothing of the instance may be left: no process naming its directory, no
   * directory.
   */
  async deleteAndExpectGone(instanceId: string): Promise<void> {
    await this.deleteInstance(instanceId);
    await waitFor(async () => (await this.row(instanceId)) === null, {
      timeoutMs: 60_000,
      what: 'the row to be deleted',
    });
    expect(processesMentioning(this.instanceDir(instanceId))).toEqual([]);
    expect(existsSync(this.instanceDir(instanceId))).toBe(false);
  }

  /** The stream an instance's guest writes to: its shard of this test's conductor stream. */
  guestStream(instanceId: string): string {
    return guestConductorStream(
      { conductorStream: this.names.conductorStream, conductorShards: DEFAULT_CONDUCTOR_SHARDS },
      instanceId,
    );
  }

  /** True once the conductor's group has read the entry `entryId` of `stream` (default: the stream itself) and acked it. */
  async isAckedByConductor(entryId: string, stream = this.names.conductorStream): Promise<boolean> {
    const { conductorGroup: group } = this.names;
    const groups = (await this.redis.xinfo('GROUPS', stream)) as unknown[][];
    const info = groups.find((fields) => fields[1] === group);
    if (!info) return false;
    const lastDelivered = String(info[info.indexOf('last-delivered-id') + 1]);
    if (compareIds(lastDelivered, entryId) < 0) return false;
    const pending = (await this.redis.xpending(stream, group, entryId, entryId, 1)) as unknown[];
    return pending.length === 0;
  }

  instanceDir(instanceId: string): string {
    return join(this.dataDir, 'instances', instanceId);
  }

  /** close(), then no process may still name this test's data directory (guest, server, worker). */
  async closeLeavingNothing(): Promise<void> {
    await this.close();
    expect(processesMentioning(this.dataDir)).toEqual([]);
  }

  async close(): Promise<void> {
    // For the scan of the run's logs (COFFER_TEST_LOG_DIR): the secrets, while all is there.
    if (this.db)
      await registerRunSecrets(this.prisma, MASTER_KEY, this.dataDir).catch(() => undefined);
    for (const worker of this.workers.splice(0)) await worker.stop().catch(() => undefined);
    await this.provider.close();
    for (const server of await this.provider.listServers().catch(() => [])) {
      await this.provider.deleteServer(server.serverId).catch(() => undefined);
      // Its guest's own Redis user, which the worker makes (guest-redis-access.ts).
      await this.redis
        .call('ACL', 'DELUSER', guestRedisUserName(server.instanceId))
        .catch(() => undefined);
    }
    await this.queue.obliterate({ force: true }).catch(() => undefined);
    await this.queue.close();
    const keys = [
      ...(await this.redis.keys(`${this.names.queuePrefix}:*`)),
      ...(await this.redis.keys(`${this.names.keyPrefix}:*`)),
      this.names.conductorStream,
      // Its shards and members (conductor/shards.ts), and streams tests named after it.
      ...(await this.redis.keys(`${this.names.conductorStream}*`)),
    ];
    if (keys.length > 0) await this.redis.del(...keys);
    await this.redis.quit();
    // A volume whose server has no record (a create killed half-way) is still mounted.
    await unmountVolumesUnder(this.dataDir).catch(() => undefined);
    rmSync(this.dataDir, { recursive: true, force: true });
    await this.db?.drop();
  }
}

/**
 * Refuses the production names (BullMQ's default prefix `bull`, the shared stream and channel)
 * in a test: a worker of another test file running at the same time would take this file's
 * jobs, or this file's worker theirs. Use `ctx.names` (a file's own), changed as needed.
 */
export function assertTestNames(names: Partial<WorkerNames>): void {
  for (const key of ['queuePrefix', 'conductorStream', 'eventsChannel', 'keyPrefix'] as const) {
    if (names[key] === undefined || names[key] === DEFAULT_NAMES[key])
      throw new Error(
        `a test worker must not use the default ${key} (${DEFAULT_NAMES[key]}): use ctx.names`,
      );
  }
}

export function displayStatusOf(
  row: Pick<Instance, 'taskStatus' | 'serviceStatus' | 'lastHeartbeatAt'>,
  now = new Date(),
): DisplayStatus {
  return deriveDisplayStatus({
    taskStatus: row.taskStatus,
    serviceStatus: row.serviceStatus,
    lastHeartbeatAt: row.lastHeartbeatAt,
    now,
    heartbeatExpirySeconds: TEST_HEARTBEAT.expirySeconds,
  });
}
