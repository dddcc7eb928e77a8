/**
 * What every benchmark of Coffer needs: the real worker as its own process, a tenant calling
 * the real tRPC procedures in-process, and the live feed to wait on. Whatever happens, the
 * benchmark's processes (worker, guests, servers under its directory) do not outlive it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join, resolve } from 'node:path';

import { createPrismaClient, type PrismaClient } from '@coffer/db';
import { createProject, createUserWithPassword } from '@coffer/db/factories';
import { removeInstanceCgroups, unmountUnder } from '@coffer/testing/mounts';
import { killProcessesMentioning, processesMentioning } from '@coffer/testing/processes';
import mysql, { type Connection } from 'mysql2/promise';

import { now, round } from './report';

export const root = resolve(import.meta.dirname, '..', '..');

/**
 * Starts the worker (every role) on `instancesDir` and resolves once it says it started. If
 * the benchmark ends without stopping it (a failure), the worker and every process under
 * `benchDir` are killed on the way out, so a failed run leaves nothing running.
 */
export async function startWorkerProcess(options: {
  benchDir: string;
  instancesDir: string;
  portRange: string;
  env?: Record<string, string>;
}): Promise<ChildProcess> {
  const worker = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'apps/worker/src/main.ts')],
    {
      cwd: root,
      env: {
        ...process.env,
        COFFER_DATA_DIR: options.instancesDir,
        COFFER_INSTANCE_PORT_RANGE: options.portRange,
        LOG_LEVEL: 'info',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  process.once('exit', () => {
    if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    killProcessesMentioning(options.benchDir);
    // The servers' loop-mounted volumes and cgroups outlive their processes.
    unmountUnder(options.benchDir);
    removeInstanceCgroups(options.instancesDir);
  });
  await new Promise<void>((resolveStarted, rejectStarted) => {
    let buffer = '';
    worker.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      if (buffer.includes('"worker started"')) resolveStarted();
      if (buffer.length > 100_000) buffer = buffer.slice(-10_000);
    });
    worker.once('exit', (code) => rejectStarted(new Error(`worker exited with ${code}`)));
  });
  // From here on its logs are only drained, or kept with BENCH_KEEP_LOGS.
  if (process.env.BENCH_KEEP_LOGS) {
    mkdirSync(process.env.BENCH_KEEP_LOGS, { recursive: true });
    worker.stdout!.pipe(createWriteStream(join(process.env.BENCH_KEEP_LOGS, 'worker.log')));
  } else worker.stdout!.resume();
  return worker;
}

export async function stopWorkerProcess(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  const exited = new Promise((done) => worker.once('exit', done));
  worker.kill('SIGTERM');
  await exited;
}

/** A subscription's item, with or without its tracked id. */
export function changeOf<T>(envelope: unknown): T {
  return (Array.isArray(envelope) ? envelope[1] : envelope) as T;
}

export interface LiveInstance {
  id: string;
  status: string;
  faultMessage: string | null;
  replication?: { state: string | null; lagSeconds: number | null };
}

/**
 * A tenant (a new user owning a new project) calling the real router in-process, and waits on
 * the live feed as the console does, on the worker's `instancesDir`. `isUnlimited` lifts the
 * project's quotas.
 */
export async function createTenant(
  projectName: string,
  options: { instancesDir: string; isUnlimited?: boolean },
) {
  process.env.LOG_LEVEL = 'silent';
  const prisma: PrismaClient = createPrismaClient({ url: process.env.DATABASE_URL! });
  // Imported once the environment is set: the API reads its settings as it loads.
  const { createServerCaller } = await import('@coffer/web/api');
  const user = await createUserWithPassword(prisma, {
    email: `bench-${Date.now()}@example.com`,
    name: 'Bench',
    password: 'bench-password-123',
  });
  const project = await createProject(prisma, { name: projectName, ownerUserId: user.id });
  if (options.isUnlimited) {
    for (const resource of ['BACKUPS', 'INSTANCES', 'VOLUME_GB'] as const) {
      await prisma.quota.create({ data: { projectId: project.id, resource, hardLimit: -1 } });
    }
  }
  const caller = createServerCaller({
    db: prisma,
    getUser: async () => ({ id: user.id, email: user.email, name: user.name }),
  });

  /** Until the instance's live view satisfies `isDone`; an ERROR throws with its fault. */
  async function untilInstance(
    id: string,
    isDone: (instance: LiveInstance) => boolean,
  ): Promise<LiveInstance> {
    const feed = await caller.instance.onChange({ projectId: project.id, instanceId: id });
    for await (const envelope of feed) {
      const change = changeOf<{ type: string; instance?: LiveInstance }>(envelope);
      if (change.instance?.id !== id) continue;
      if (isDone(change.instance)) return change.instance;
      if (change.instance.status === 'ERROR')
        throw new Error(`instance ${id} failed: ${change.instance.faultMessage}`);
    }
    throw new Error(`instance ${id}: the live feed ended`);
  }

  /**
   * Deletes the instances and waits until their rows are gone (the taskmanager's last step,
   * after the server). With BENCH_KEEP_LOGS=<dir>, each one's guest log is kept there first.
   */
  async function deleteInstances(ids: string[]): Promise<void> {
    if (process.env.BENCH_KEEP_LOGS) {
      for (const id of ids) {
        const log = join(options.instancesDir, 'instances', id, 'log', 'guest.log');
        if (existsSync(log))
          copyFileSync(log, join(process.env.BENCH_KEEP_LOGS, `guest-${id}.log`));
      }
    }
    for (const id of ids) await caller.instance.delete({ projectId: project.id, instanceId: id });
    for (
      const deadline = Date.now() + 600_000;
      ;
      await new Promise((tick) => setTimeout(tick, 50))
    ) {
      if ((await prisma.instance.count({ where: { id: { in: ids } } })) === 0) return;
      if (Date.now() > deadline)
        throw new Error(`instances ${ids.join(', ')} were not deleted within 10 minutes`);
    }
  }

  return { prisma, caller, user, project, untilInstance, deleteInstances };
}

/**
 * The start of a benchmark: its directory emptied, the worker started on it
 * ({@link startWorkerProcess}) and a tenant owning a project named `projectName`
 * ({@link createTenant}).
 */
export async function startBench(
  projectName: string,
  options: {
    benchDir: string;
    instancesDir: string;
    portRange: string;
    env?: Record<string, string>;
    isUnlimited?: boolean;
  },
) {
  // What an interrupted run left: its volumes are still mounted there.
  unmountUnder(options.benchDir);
  rmSync(options.benchDir, { recursive: true, force: true });
  const worker = await startWorkerProcess(options);
  const tenant = await createTenant(projectName, options);
  return { worker, ...tenant };
}

/** Runs a benchmark's `main`: exit 0 once it ends (unless it exited itself), 1 with the error if it fails. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/** The end of a benchmark: the worker stopped, the database closed; returns the processes still running under `benchDir` (none, when all went well). */
export async function endBench(
  bench: { worker: ChildProcess; prisma: PrismaClient },
  benchDir: string,
) {
  await stopWorkerProcess(bench.worker);
  await bench.prisma.$disconnect();
  return processesMentioning(benchDir);
}

/**
 * The start of the benchmarks on a source with data (backup, replica): {@link startBench}
 * with the quotas lifted, `bareDir` made for the bare tool's side, and the source: an
 * instance of the largest flavor (m1.large when there is one, its default volume; `tenant`:
 * its databases and users) until ACTIVE, then at least `dataMb` MiB of `bench.orders`
 * generated as root over its socket ({@link generateOrders}) and settled. The source's root
 * connection stays open for the caller (which ends it).
 */
export async function startDataBench(
  projectName: string,
  options: Omit<Parameters<typeof startBench>[1], 'isUnlimited'> & {
    bareDir: string;
    dataMb: number;
    tenant?: {
      databases: Array<{ name: string }>;
      users: Array<{ name: string; host: string; password: string; databases: string[] }>;
    };
  },
) {
  const bench = await startBench(projectName, { ...options, isUnlimited: true });
  mkdirSync(options.bareDir, { recursive: true });
  const flavors = await bench.caller.catalog.flavors();
  const flavor = flavors.find((candidate) => candidate.name === 'm1.large') ?? flavors.at(-1)!;
  const created = await bench.caller.instance.create({
    projectId: bench.project.id,
    name: 'bench-source',
    flavorId: flavor.id,
    volumeSizeGb: flavor.defaultVolumeGb,
    ...options.tenant,
  });
  await bench.untilInstance(created.id, (instance) => instance.status === 'ACTIVE');
  const agent = agentConfigOf(options.instancesDir, created.id);
  const socket = join(agent.datastore.runDir, 'mysqld.sock');
  const admin = await mysql.createConnection({ socketPath: socket, user: 'root' });
  const generateStarted = now();
  await admin.query('CREATE DATABASE IF NOT EXISTS bench');
  const generatedBytes = await generateOrders(admin, options.dataMb);
  await settle(admin);
  const datadirBytes = sizeOfTree(join(agent.datastore.volumeDir, 'data'));
  const generatedMiB = round(generatedBytes / 1024 / 1024, 0);
  console.log(
    `generated ${generatedMiB} MiB of table data (datadir ${round(datadirBytes / 1024 / 1024, 0)} MiB) in ${round((now() - generateStarted) / 1000, 1)} s`,
  );
  const source = {
    id: created.id,
    socket,
    myCnf: join(agent.datastore.volumeDir, 'my.cnf'),
    admin,
    generatedMiB,
    datadirBytes,
  };
  return { ...bench, flavor, source };
}

/** The injected agent config of a local instance: where its server's files are. */
export function agentConfigOf(
  instancesDir: string,
  instanceId: string,
): { datastore: { runDir: string; volumeDir: string } } {
  return JSON.parse(
    readFileSync(join(instancesDir, 'instances', instanceId, 'etc', 'guest-agent.json'), 'utf8'),
  ) as {
    datastore: { runDir: string; volumeDir: string };
  };
}

/** Bytes under a directory. */
export function sizeOfTree(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    total += entry.isDirectory() ? sizeOfTree(child) : statSync(child).size;
  }
  return total;
}

/**
 * At least `dataMb` MiB of table data in `bench.orders` (created here; the database must
 * exist), by INSERT … SELECT doubling, outside the binary log (a replica gets it from its
 * snapshot). Returns the table data's size in bytes.
 */
export async function generateOrders(admin: Connection, dataMb: number): Promise<number> {
  await admin.query('SET SESSION sql_log_bin = 0');
  await admin.query(
    'CREATE TABLE bench.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer CHAR(32), note VARCHAR(255), amount DOUBLE, placed DATETIME, qty INT, KEY (customer))',
  );
  await admin.query(
    "INSERT INTO bench.orders (customer, note, amount, placed, qty) VALUES (MD5(RAND()), 'first', 1, NOW(), 1)",
  );
  const dataBytes = async () => {
    await admin.query('ANALYZE TABLE bench.orders');
    const [rows] = await admin.query(
      "SELECT DATA_LENGTH + INDEX_LENGTH AS bytes FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'bench' AND TABLE_NAME = 'orders'",
    );
    return Number((rows as Array<{ bytes: number }>)[0]!.bytes);
  };
  while ((await dataBytes()) < dataMb * 1024 * 1024) {
    await admin.query(
      `INSERT INTO bench.orders (customer, note, amount, placed, qty)
       SELECT MD5(RAND()), CONCAT('order of ', ELT(1 + FLOOR(RAND() * 4), 'teapots', 'kettles', 'cups', 'saucers'), ' for ', MD5(RAND()), ' ', REPEAT('-', FLOOR(RAND() * 60))),
              ROUND(RAND() * 1000, 2), NOW() - INTERVAL FLOOR(RAND() * 31536000) SECOND, FLOOR(1 + RAND() * 10)
         FROM bench.orders`,
    );
  }
  await admin.query('SET SESSION sql_log_bin = 1');
  await admin.query('FLUSH TABLES');
  return dataBytes();
}

/**
 * Waits until the server has written every dirty page and purged its undo history, so that
 * what is measured next does not pay for the data generation (background flushing after a
 * bulk load makes backups and their redo log copy several times slower for a while).
 */
export async function settle(admin: Connection): Promise<void> {
  const [[before]] = (await admin.query(
    'SELECT @@GLOBAL.innodb_max_dirty_pages_pct AS pct',
  )) as unknown as [[{ pct: number }]];
  await admin.query('SET GLOBAL innodb_max_dirty_pages_pct = 0');
  try {
    for (
      const deadline = Date.now() + 600_000;
      Date.now() < deadline;
      await new Promise((tick) => setTimeout(tick, 250))
    ) {
      const [rows] = await admin.query(
        "SELECT VARIABLE_NAME AS name, VARIABLE_VALUE AS value FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN ('INNODB_BUFFER_POOL_PAGES_DIRTY', 'INNODB_HISTORY_LIST_LENGTH')",
      );
      const values = new Map(
        (rows as Array<{ name: string; value: string }>).map((row) => [
          row.name,
          Number(row.value),
        ]),
      );
      if (
        (values.get('INNODB_BUFFER_POOL_PAGES_DIRTY') ?? 0) === 0 &&
        (values.get('INNODB_HISTORY_LIST_LENGTH') ?? 0) < 100
      )
        return;
    }
    throw new Error('the server did not settle within 10 minutes');
  } finally {
    await admin.query('SET GLOBAL innodb_max_dirty_pages_pct = ?', [before.pct]);
  }
}
