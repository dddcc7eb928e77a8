import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { TASK_STATUSES } from '@coffer/contracts';
import { type Backup, type Instance } from '@coffer/db';
import { testPorts } from '@coffer/testing/ports';
import { isGuest, isMariadbd, processesMentioning } from '@coffer/testing/processes';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';

import { startBackup, startRestore, storedObjects, tenantQuery } from '../test/backups';
import { ChildWorker } from '../test/child-worker';
import {
  displayStatusOf,
  TEST_TUNING,
  WorkerTestContext,
  type CreatedInstance,
} from '../test/harness';
import { startPromote, startReplicas } from '../test/replication';
import { WORKER_ROLES, type WorkerRole } from './worker';

/**
 * Chaos (issue 11, "keep it proven"): for one minute, while creates, backups, restores and
 * replica promotions run, a worker role, a guest or a `mariadbd` is killed with SIGKILL
 * every few seconds. The worker runs one process per role (taskmanager, conductor, watchdog),
 * as `npm start` runs them; a killed role is started again, as a supervisor would. Then, within
 * a deadline, everything must settle:
 *   - every operation ended: done, or failed with a fault a tenant can read;
 *   - no instance or backup row is left in a transitional task or status;
 *   - every instance that was built is ACTIVE again and answers the tenant's query, with
 *     exactly one guest, one `mariadbd`, its directory and its port listening;
 *   - nothing without a row: no guest or `mariadbd`, instance directory, listening port,
 *     compute server or backup object; and no COMPLETED backup without its objects.
 * Victims and operations are drawn from a seeded generator: the seed is printed, and
 * COFFER_CHAOS_SEED=<seed> replays the same draws (the timings of a real run still differ).
 */

const CHAOS_MS = Number(process.env.COFFER_CHAOS_SECONDS ?? 60) * 1000;
const SETTLE_MS = 120_000;
const KILL_EVERY_MS = { min: 2_500, max: 5_000 };
/** Operations in flight at once, and instances alive at most (2 CPUs). */
const SLOTS = 2;
const MAX_INSTANCES = 7;
const MAX_FRESH_INSTANCES = 3;
const SEED = Number(process.env.COFFER_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PORTS = testPorts().instances;
/** Every task but the settled ones (none, or a build that ended in error). */
const TRANSITIONAL_TASKS = new Set<Instance['taskStatus']>(
  TASK_STATUSES.filter((task) => task !== 'NONE' && task !== 'BUILDING_ERROR'),
);
const TRANSITIONAL_BACKUPS = new Set<Backup['status']>(['NEW', 'BUILDING', 'DELETING']);

const ctx = new WorkerTestContext({ name: 'chaos', portRange: PORTS });
/**
 * Timings of a test, reconciliation quick enough to settle within the deadline, and the
 * watchdog's guest supervision on (the harness turns it off; here guests die and must come back).
 */
const tuning = {
  ...TEST_TUNING,
  guestSupervisionIntervalMs: 1_000,
  backupScheduleIntervalMs: 2_000,
  reconcileIntervalMs: 5_000,
  orphanGraceMs: 20_000,
  // A promote's calls and catch-up bounded within the settle deadline (defaults: 90 s, 300 s):
  // a call a killed guest had taken is asked again sooner, a replica that cannot catch up
  // fails the promote with its fault instead of outliving the deadline.
  replicationCallTimeoutMs: 30_000,
  replicationCatchUpTimeoutMs: 20_000,
};
const workers: ChildWorker[] = [];
/** Workers that said they started (only those are killed, so that one is always at work). */
const readyWorkers = new Set<ChildWorker>();
/** Starting a worker takes long on a loaded machine: a supervisor waits as long. */
const WORKER_READY_MS = 120_000;
let storeRoot: string;

/** mulberry32: small, seeded, good enough to draw victims and operations. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = seededRandom(SEED);
const pick = <T>(items: readonly T[]): T | undefined =>
  items.length === 0 ? undefined : items[Math.floor(random() * items.length)];

/** The role each worker process runs: one process per role, as `npm start` runs them. */
const roleOf = new Map<ChildWorker, WorkerRole>();

function spawnWorker(role: WorkerRole): ChildWorker {
  const child = new ChildWorker({
    env: ctx.workerEnv({ LOG_LEVEL: 'info', COFFER_CREATE_TIMEOUT_SECONDS: 90 }),
    names: ctx.names,
    tuning,
    roles: [role],
  });
  workers.push(child);
  roleOf.set(child, role);
  void child.ready(WORKER_READY_MS).then(
    () => readyWorkers.add(child),
    () => undefined,
  );
  return child;
}

function isAlive(child: ChildWorker): boolean {
  return child.process.exitCode === null && child.process.signalCode === null;
}

/** The tenant's credentials on each instance (a restore or a replica has its source's accounts). */
const tenants = new Map<string, CreatedInstance>();
/** The tenant of each backup's source, for restores. */
const backupTenants = new Map<string, CreatedInstance>();

type OperationKind = 'create' | 'backup' | 'restore' | 'replica' | 'promote';
interface Operation {
  kind: OperationKind;
  id: string;
  startedAt: Date;
  outcome: 'pending' | 'completed' | 'faulted' | 'unclear';
  detail?: string;
}
const operations: Operation[] = [];
const kills = { taskmanager: 0, conductor: 0, watchdog: 0, guest: 0, mariadbd: 0, none: 0 };
let refusedStarts = 0;

/** Polls until the operation is final; records the outcome (or 'unclear' with why). */
async function follow(operation: Operation, deadline: number): Promise<void> {
  const final = await waitFor(() => finalState(operation), {
    timeoutMs: Math.max(1, deadline - Date.now()),
    intervalMs: 250,
    what: `${operation.kind} ${operation.id} to end`,
  }).catch((error: Error) => ({
    outcome: 'pending' as const,
    detail: error.message.split('\n')[0],
  }));
  operation.outcome = final.outcome;
  operation.detail = final.detail;
}

async function finalState(
  operation: Operation,
): Promise<{ outcome: Operation['outcome']; detail?: string } | null> {
  if (operation.kind === 'backup') {
    const row = await ctx.prisma.backup.findUnique({ where: { id: operation.id } });
    if (!row) return { outcome: 'unclear', detail: 'the backup row vanished' };
    if (row.status === 'COMPLETED') return { outcome: 'completed' };
    if (row.status === 'FAILED')
      return row.faultMessage
        ? { outcome: 'faulted', detail: row.faultMessage }
        : { outcome: 'unclear', detail: 'FAILED without a fault message' };
    return null;
  }
  if (operation.kind === 'promote') {
    const replica = await ctx.row(operation.id);
    if (!replica) return { outcome: 'unclear', detail: 'the replica row vanished' };
    const members = await ctx.prisma.instance.findMany({
      where: {
        OR: [
          { id: replica.id },
          { replicaOfId: replica.id },
          ...(replica.replicaOfId ? [{ id: replica.replicaOfId }] : []),
        ],
      },
    });
    if (members.some((member) => member.taskStatus === 'PROMOTING')) return null;
    const isSwapped =
      replica.replicaOfId === null && members.some((member) => member.replicaOfId === replica.id);
    if (isSwapped) return { outcome: 'completed' };
    const fault = members.find((member) => member.faultAt && member.faultAt >= operation.startedAt);
    return fault
      ? { outcome: 'faulted', detail: fault.faultMessage ?? '' }
      : { outcome: 'unclear', detail: 'ended without the swap and without a fault' };
  }
  // create, restore, replica: the build ends.
  const row = await ctx.row(operation.id);
  if (!row) return { outcome: 'unclear', detail: 'the instance row vanished' };
  if (row.taskStatus === 'BUILDING_ERROR')
    return row.faultMessage
      ? { outcome: 'faulted', detail: row.faultMessage }
      : { outcome: 'unclear', detail: 'BUILDING_ERROR without a fault message' };
  if (row.taskStatus === 'NONE') return { outcome: 'completed' };
  return null;
}

async function liveInstances(): Promise<Instance[]> {
  return ctx.prisma.instance.findMany({ where: { projectId: ctx.projectId, deletedAt: null } });
}

function isActive(row: Instance): boolean {
  return displayStatusOf(row) === 'ACTIVE';
}

/** Starts one operation drawn at random among those possible now; null when none could start. */
async function startOperation(): Promise<Operation | null> {
  const rows = await liveInstances();
  const idle = rows.filter((row) => isActive(row) && tenants.has(row.id));
  const backups = await ctx.prisma.backup.findMany({
    where: { projectId: ctx.projectId, status: 'COMPLETED', id: { in: [...backupTenants.keys()] } },
  });
  const hasRoom = rows.length < MAX_INSTANCES;
  const kinds: OperationKind[] = [];
  // Fresh creates up to a few instances; restores and replicas fill the rest of the room.
  if (rows.length < MAX_FRESH_INSTANCES) kinds.push('create');
  if (idle.length > 0) kinds.push('backup', 'backup');
  if (hasRoom && backups.length > 0) kinds.push('restore');
  const standalone = idle.filter(
    (row) => row.replicaOfId === null && !rows.some((other) => other.replicaOfId === row.id),
  );
  if (hasRoom && standalone.length > 0) kinds.push('replica');
  const kind = pick(kinds);
  const startedAt = new Date();
  try {
    switch (kind) {
      case 'create': {
        const tenant = await ctx.createInstance();
        tenants.set(tenant.instanceId, tenant);
        return { kind, id: tenant.instanceId, startedAt, outcome: 'pending' };
      }
      case 'backup': {
        const source = pick(idle)!;
        const backupId = await startBackup(ctx, source.id, pick(['FULL', 'LOGICAL'] as const)!);
        backupTenants.set(backupId, tenants.get(source.id)!);
        return { kind, id: backupId, startedAt, outcome: 'pending' };
      }
      case 'restore': {
        const backup = pick(backups)!;
        const instanceId = await startRestore(ctx, backup.id);
        tenants.set(instanceId, backupTenants.get(backup.id)!);
        return { kind, id: instanceId, startedAt, outcome: 'pending' };
      }
      case 'replica': {
        const source = pick(standalone)!;
        const { replicaIds } = await startReplicas(ctx, source.id, 1);
        tenants.set(replicaIds[0]!, tenants.get(source.id)!);
        return { kind, id: replicaIds[0]!, startedAt, outcome: 'pending' };
      }
      default:
        return null;
    }
  } catch {
    // Another slot took the instance meanwhile (it is busy): nothing was started.
    refusedStarts++;
    return null;
  }
}

/** A replica that was built and replicates is promoted (the second half of a replica operation). */
async function promoteIfPossible(replicaId: string): Promise<Operation | null> {
  const row = await ctx.row(replicaId);
  if (!row?.replicaOfId || !isActive(row) || row.replicationState !== 'REPLICATING') return null;
  const startedAt = new Date();
  try {
    await startPromote(ctx, replicaId);
    return { kind: 'promote', id: replicaId, startedAt, outcome: 'pending' };
  } catch {
    refusedStarts++;
    return null;
  }
}

/** One slot: start an operation, follow it to its end, again, until the chaos is over. */
async function runSlot(chaosEnd: number, settleDeadline: number): Promise<void> {
  while (Date.now() < chaosEnd) {
    const operation = await startOperation();
    if (!operation) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    operations.push(operation);
    await follow(operation, settleDeadline);
    if (operation.kind === 'replica' && operation.outcome === 'completed') {
      // Give it the time to report REPLICATING (heartbeats every second).
      await waitFor(async () => (await ctx.row(operation.id))?.replicationState === 'REPLICATING', {
        timeoutMs: 10_000,
        intervalMs: 250,
        what: 'the replica to replicate',
      }).catch(() => undefined);
      const promote = await promoteIfPossible(operation.id);
      if (promote) {
        operations.push(promote);
        await follow(promote, settleDeadline);
      }
    }
  }
}

/** Every few seconds until the chaos is over, SIGKILL a worker role, a guest or a `mariadbd`. */
async function runKiller(chaosEnd: number): Promise<void> {
  for (;;) {
    const wait = KILL_EVERY_MS.min + random() * (KILL_EVERY_MS.max - KILL_EVERY_MS.min);
    if (Date.now() + wait >= chaosEnd) return;
    await new Promise((resolve) => setTimeout(resolve, wait));
    const kind = pick(['role', 'guest', 'mariadbd'] as const)!;
    if (kind === 'role') {
      const victim = pick(workers.filter((worker) => isAlive(worker) && readyWorkers.has(worker)));
      if (!victim) {
        kills.none++;
        continue;
      }
      victim.kill('SIGKILL');
      await victim.exited;
      const role = roleOf.get(victim)!;
      kills[role]++;
      // The supervisor's part: the role started again (while the chaos goes on).
      spawnWorker(role);
      continue;
    }
    const processes = processesMentioning(join(ctx.dataDir, 'instances')).filter(
      kind === 'guest' ? isGuest : isMariadbd,
    );
    const victim = pick(processes);
    if (!victim) {
      kills.none++;
      continue;
    }
    try {
      process.kill(victim.pid, 'SIGKILL');
      kills[kind]++;
    } catch {
      kills.none++;
    }
  }
}

/** Ports in the test's range with a listening TCP socket. */
function listeningPorts(): Set<number> {
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] !== '0A') continue; // LISTEN
      const port = parseInt(fields[1]?.split(':')[1] ?? '', 16);
      if (port >= PORTS.min && port <= PORTS.max) ports.add(port);
    }
  }
  return ports;
}

function instanceIdIn(args: string[]): string | null {
  const match = /instances\/([0-9a-f-]{36})/.exec(args.join(' '));
  return match ? match[1]! : null;
}

/** Every invariant that does not hold now, in words. */
async function violations(): Promise<string[]> {
  const found: string[] = [];
  for (const operation of operations) {
    if (operation.outcome === 'pending' || operation.outcome === 'unclear')
      found.push(
        `${operation.kind} ${operation.id} did not end clearly: ${operation.detail ?? operation.outcome}`,
      );
  }
  const rows = await liveInstances();
  const liveIds = new Set(rows.map((row) => row.id));
  const processes = processesMentioning(join(ctx.dataDir, 'instances'));
  const ports = listeningPorts();
  const directories = existsSync(join(ctx.dataDir, 'instances'))
    ? readdirSync(join(ctx.dataDir, 'instances'))
    : [];
  for (const row of rows) {
    const what = `instance ${row.id}`;
    if (TRANSITIONAL_TASKS.has(row.taskStatus)) {
      found.push(`${what} is stuck in task ${row.taskStatus}`);
      continue;
    }
    if (row.taskStatus === 'BUILDING_ERROR') {
      if (!row.faultMessage) found.push(`${what} is in ERROR without a fault message`);
      continue;
    }
    const status = displayStatusOf(row);
    if (status !== 'ACTIVE') {
      found.push(`${what} was built but is ${status} (service ${row.serviceStatus}), not ACTIVE`);
      continue;
    }
    const own = processes.filter((info) => instanceIdIn(info.args) === row.id);
    const guests = own.filter(isGuest).length;
    const servers = own.filter(isMariadbd).length;
    if (guests !== 1 || servers !== 1)
      found.push(`${what} is ACTIVE with ${guests} guest(s) and ${servers} mariadbd`);
    if (!directories.includes(row.id)) found.push(`${what} is ACTIVE without its directory`);
    if (row.port === null || !ports.has(row.port))
      found.push(`${what} is ACTIVE but nothing listens on its port ${row.port}`);
    const tenant = tenants.get(row.id);
    if (tenant) {
      try {
        const answer = (await tenantQuery(ctx, row.id, tenant, 'SELECT 1 AS ok')) as Array<{
          ok: number;
        }>;
        if (answer[0]?.ok !== 1) found.push(`${what} answered ${JSON.stringify(answer)}`);
      } catch (error) {
        found.push(`${what} is ACTIVE but does not answer: ${(error as Error).message}`);
      }
    }
  }
  for (const info of processes) {
    const id = instanceIdIn(info.args);
    if (!id || !liveIds.has(id))
      found.push(
        `orphan process ${info.pid} (${info.args[0]}) of instance ${id ?? '?'} without a row`,
      );
  }
  for (const directory of directories) {
    if (!liveIds.has(directory))
      found.push(`orphan directory instances/${directory} without a row`);
  }
  const rowPorts = new Set(rows.map((row) => row.port));
  for (const port of ports) {
    if (!rowPorts.has(port)) found.push(`orphan listener on port ${port} without a row`);
  }
  for (const server of await ctx.provider.listServers()) {
    if (!liveIds.has(server.instanceId))
      found.push(`orphan compute server ${server.serverId} without a row`);
  }

  const backups = await ctx.prisma.backup.findMany({ where: { projectId: ctx.projectId } });
  const backupIds = new Set(backups.map((backup) => backup.id));
  for (const backup of backups) {
    if (TRANSITIONAL_BACKUPS.has(backup.status))
      found.push(`backup ${backup.id} is stuck in ${backup.status}`);
    if (
      backup.status === 'COMPLETED' &&
      !storedObjects(ctx, backup.location).includes('manifest.json')
    )
      found.push(`backup ${backup.id} is COMPLETED without its manifest in the store`);
  }
  const projectObjects = join(storeRoot, 'backups', ctx.projectId);
  for (const backupId of existsSync(projectObjects) ? readdirSync(projectObjects) : []) {
    if (!backupIds.has(backupId) && readdirSync(join(projectObjects, backupId)).length > 0)
      found.push(`orphan backup objects backups/${ctx.projectId}/${backupId}/ without a row`);
  }
  return found;
}

function count(kind: OperationKind | 'all', outcome?: Operation['outcome']): number {
  return operations.filter(
    (operation) =>
      (kind === 'all' || operation.kind === kind) &&
      (outcome === undefined || operation.outcome === outcome),
  ).length;
}

function report(settleMs: number, found: string[]): string {
  const kinds: Array<OperationKind | 'all'> = [
    'create',
    'backup',
    'restore',
    'replica',
    'promote',
    'all',
  ];
  const lines = [
    `chaos seed ${SEED} (replay: COFFER_CHAOS_SEED=${SEED})`,
    `kills: taskmanager ${kills.taskmanager}, conductor ${kills.conductor}, watchdog ${kills.watchdog}, guest ${kills.guest}, mariadbd ${kills.mariadbd} (no victim: ${kills.none})`,
    'operations: started / completed / faulted / not final',
    ...kinds.map(
      (kind) =>
        `  ${kind.padEnd(8)} ${count(kind)} / ${count(kind, 'completed')} / ${count(kind, 'faulted')} / ${
          count(kind, 'pending') + count(kind, 'unclear')
        }`,
    ),
    `starts refused (the instance was busy): ${refusedStarts}`,
    `settled in ${Math.round(settleMs / 1000)} s; invariants broken: ${found.length}`,
    ...found.map((violation) => `  - ${violation}`),
    ...operations
      .filter((operation) => operation.outcome === 'faulted')
      .map((operation) => `  fault of ${operation.kind} ${operation.id}: ${operation.detail}`),
  ];
  return lines.join('\n');
}

beforeAll(async () => {
  await ctx.setUp();
  storeRoot = join(ctx.dataDir, 'backups');
  for (const role of WORKER_ROLES) spawnWorker(role);
  await Promise.all(workers.map((worker) => worker.ready(WORKER_READY_MS)));
});

afterAll(async () => {
  for (const worker of workers) {
    if (isAlive(worker)) {
      worker.kill('SIGTERM');
      await worker.exited;
    }
  }
  await ctx.closeLeavingNothing();
});

describe('chaos', () => {
  it('kills worker roles, guests and mariadbd for a minute; everything settles, nothing is orphaned', async () => {
    console.info(`chaos seed ${SEED}`);
    onTestFailed(() => {
      console.info(`chaos seed ${SEED} (replay: COFFER_CHAOS_SEED=${SEED})`);
      for (const worker of workers)
        console.info(`--- worker ${worker.pid}:\n${worker.log().slice(-3000)}`);
    });
    // Two instances to work on from the start (their creates are operations like any other).
    for (let index = 0; index < 2; index++) {
      const tenant = await ctx.createInstance();
      tenants.set(tenant.instanceId, tenant);
      operations.push({
        kind: 'create',
        id: tenant.instanceId,
        startedAt: new Date(),
        outcome: 'pending',
      });
    }
    // Their builds end before the chaos starts (a build that fails is judged with the rest).
    await Promise.all(operations.map((operation) => follow(operation, Date.now() + 120_000)));

    const chaosStart = Date.now();
    const chaosEnd = chaosStart + CHAOS_MS;
    const settleDeadline = chaosEnd + SETTLE_MS;
    await Promise.all([
      runKiller(chaosEnd),
      ...Array.from({ length: SLOTS }, () => runSlot(chaosEnd, settleDeadline)),
      ...operations.map((operation) => follow(operation, settleDeadline)),
    ]);

    // Every worker started again before the settle phase is judged.
    await Promise.all(workers.filter(isAlive).map((worker) => worker.ready(WORKER_READY_MS)));

    // Settle: every invariant holds, or the deadline passes and says which do not.
    let found = await violations();
    while (found.length > 0 && Date.now() < settleDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      for (const operation of operations.filter((op) => op.outcome === 'pending'))
        await follow(operation, Date.now() + 1);
      found = await violations();
    }
    const summary = report(Date.now() - chaosEnd, found);
    console.info(summary);
    expect(found, summary).toEqual([]);
    expect(count('all')).toBeGreaterThan(2);
    expect(
      kills.taskmanager + kills.conductor + kills.watchdog + kills.guest + kills.mariadbd,
    ).toBeGreaterThan(5);
  }, 360_000);
});
