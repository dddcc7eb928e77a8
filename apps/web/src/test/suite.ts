import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { TASKMANAGER_QUEUE } from '@coffer/contracts';
import { formatPortRange, testPorts } from '@coffer/testing/ports';
import { processesMentioning } from '@coffer/testing/processes';
import { madeBeforeAll } from '@coffer/testing/suite';
import { startWorker, type RunningWorker, type StartWorkerOptions } from '@coffer/worker';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect } from 'vitest';

import { createHarness, type Harness } from './harness';

/**
 * The set-up the web API test files share: the file's harness, its taskmanager queue and a
 * real worker in this process, each made before the file's tests and closed after them.
 * Vitest runs `afterAll` hooks in reverse order, so what a file sets up after its harness
 * (a worker) is gone before the harness closes.
 */

/**
 * The file's harness (a database of its own). `env` is set before the app's modules read it;
 * with `obliterateQueue`, the jobs the file queued on the web app's queue (its own prefix, no
 * worker takes them) are removed at the end.
 */
export function useHarness(
  options: { env?: Record<string, string>; obliterateQueue?: boolean } = {},
): Harness {
  return madeBeforeAll(
    { beforeAll, afterAll },
    async () => {
      Object.assign(process.env, options.env);
      return createHarness();
    },
    async (h) => {
      if (options.obliterateQueue) {
        const { getTaskmanagerQueue } = await import('~/server/queue');
        await getTaskmanagerQueue().obliterate({ force: true });
      }
      await h.close();
    },
  );
}

/**
 * The web app's taskmanager queue, as a test reads it (its jobs, their data): the file's own
 * prefix (src/test/setup-names.ts), never `bull`. With `obliterate`, emptied at the end.
 */
export function useTaskmanagerQueue(options: { obliterate?: boolean } = {}): Queue {
  let redis: Redis | undefined;
  return madeBeforeAll(
    { beforeAll, afterAll },
    async () => {
      redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
      return new Queue(TASKMANAGER_QUEUE, {
        connection: redis,
        prefix: process.env.COFFER_QUEUE_PREFIX,
      });
    },
    async (queue) => {
      if (options.obliterate) await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      redis?.disconnect();
    },
  );
}

/** A folder of its own for a file's instances, under COFFER_TEST_DATA_DIR. */
export function testDataDir(label: string): string {
  return join(
    process.env.COFFER_TEST_DATA_DIR ?? join(tmpdir(), 'coffer-test-instances'),
    `${label}-${randomUUID().slice(0, 8)}`,
  );
}

/**
 * The real worker in this process, on the harness's database and the test's Redis, its
 * instances in `dataDir` on ports of `portRange` (by default the test file's own,
 * @coffer/testing/ports), silent; with `heartbeatExpirySeconds`, set
 * to run instances for real (liveInstanceSettings); `env` adds or overrides settings.
 */
export function startTestWorker(
  h: Harness,
  {
    dataDir,
    portRange,
    heartbeatExpirySeconds,
    env,
    ...options
  }: { dataDir: string; portRange?: string; heartbeatExpirySeconds?: number } & Omit<
    StartWorkerOptions,
    'prisma'
  >,
): Promise<RunningWorker> {
  return startWorker({
    ...options,
    prisma: h.prisma,
    env: {
      DATABASE_URL: process.env.DATABASE_URL,
      REDIS_URL: process.env.REDIS_URL,
      COFFER_MASTER_KEY: process.env.COFFER_MASTER_KEY,
      COFFER_DATA_DIR: dataDir,
      COFFER_INSTANCE_PORT_RANGE: portRange ?? formatPortRange(testPorts().instances),
      LOG_LEVEL: 'silent',
      ...(heartbeatExpirySeconds === undefined ? {} : liveInstanceSettings(heartbeatExpirySeconds)),
      ...env,
    },
  });
}

/**
 * Settings of a worker that runs instances for real in a test: heartbeats every second, a
 * guest silent for `heartbeatExpirySeconds` taken as gone, 120 s for a create.
 */
export function liveInstanceSettings(heartbeatExpirySeconds: number): Record<string, string> {
  return {
    COFFER_HEARTBEAT_INTERVAL_SECONDS: '1',
    COFFER_HEARTBEAT_EXPIRY_SECONDS: String(heartbeatExpirySeconds),
    COFFER_CREATE_TIMEOUT_SECONDS: '120',
  };
}

/** Stops a test's worker after removing the servers a failed or asynchronous test left behind. */
export async function stopTestWorker(worker: RunningWorker | undefined): Promise<void> {
  if (worker?.provider) {
    for (const server of await worker.provider.listServers())
      await worker.provider.deleteServer(server.serverId);
  }
  await worker?.stop();
}

/**
 * The end of a file whose worker ran instances for real: the worker stops (stopTestWorker), the
 * Redis keys matching `redisKeys` (KEYS patterns) go, `dataDir` is removed and no process
 * mentions it any more.
 */
export async function endTestWorkerFile(
  worker: RunningWorker | undefined,
  { dataDir, redisKeys }: { dataDir: string; redisKeys: string[] },
): Promise<void> {
  await stopTestWorker(worker);
  const redis = new Redis(process.env.REDIS_URL!);
  for (const pattern of redisKeys) {
    const keys = await redis.keys(pattern);
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis.quit();
  rmSync(dataDir, { recursive: true, force: true });
  expect(processesMentioning(dataDir)).toEqual([]);
}

/** Sets a project's quota of `resource` as an operator's override would (-1: unlimited). */
export async function setQuota(
  h: Harness,
  projectId: string,
  resource: 'INSTANCES' | 'VOLUME_GB' | 'BACKUPS',
  hardLimit: number,
): Promise<void> {
  await h.prisma.quota.upsert({
    where: { projectId_resource: { projectId, resource } },
    create: { projectId, resource, hardLimit },
    update: { hardLimit },
  });
}

/** The id of the smallest enabled flavor. */
export async function smallestFlavorId(h: Harness): Promise<string> {
  const flavor = await h.prisma.flavor.findFirstOrThrow({
    where: { isDisabled: false },
    orderBy: { ramMb: 'asc' },
  });
  return flavor.id;
}
