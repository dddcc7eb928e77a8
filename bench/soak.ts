/**
 * Soak benchmark (issue 11: "keep it proven"). SOAK_INSTANCES instances (default 20) under a
 * steady insert load (SOAK_INSERT_RATE rows/s each, default 10) for SOAK_MINUTES (default 10),
 * each with a backup schedule set through the API as a person would (hourly style: a full
 * every hour, an incremental every 15 minutes, keep 2) and then compressed to minutes in the
 * database (a full every SOAK_FULL_MINUTES, default 2, an incremental every
 * SOAK_INCREMENTAL_MINUTES, default 1), so the watchdog's schedules and retention run many
 * times. Reports:
 *   - resident memory of the worker, each guest and each mariadbd when the load starts, after
 *     a warm-up (SOAK_WARMUP_MINUTES, default 1) and at the end; growth per hour fitted (least
 *     squares) to samples every 30 s from the warm-up to the end;
 *   - failed operations (target 0): inserts refused, scheduled backups FAILED, instances not
 *     ACTIVE at the end, servers or guests that died and were started again (instance events);
 *   - the control plane's PostgreSQL database size and Redis used_memory, at start and end;
 *   - scheduled backups completed and removed by retention.
 * Run with `npm run bench:soak` (scripts/coffer.mjs prepares services and a database).
 * Every request goes to 127.0.0.1; every loop stops by its deadline.
 */
import { readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

import { isGuest, isMariadbd, processesMentioning } from '@coffer/testing/processes';
import mysql, { type Connection } from 'mysql2/promise';

import { endBench, root, runBench, sizeOfTree, startBench } from './lib/coffer';
import { loadText, sampleLoad } from './lib/load';
import { median, now, printTable, round, rssMiB } from './lib/report';

function setting(name: string, fallback: number, { min = 1, max = 10_000 } = {}): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new Error(`${name} must be a number from ${min} to ${max}, got "${raw}"`);
  return value;
}

const MINUTES = setting('SOAK_MINUTES', 10, { max: 24 * 60 });
const INSTANCES = setting('SOAK_INSTANCES', 20, { max: 60 });
const INSERT_RATE = setting('SOAK_INSERT_RATE', 10, { max: 1000 });
const FULL_MINUTES = setting('SOAK_FULL_MINUTES', 2, { max: 60 });
const INCREMENTAL_MINUTES = setting('SOAK_INCREMENTAL_MINUTES', 1, { max: 60 });
const RETAIN_FULL = setting('SOAK_RETAIN_FULL', 2, { max: 100 });
const WARMUP_MINUTES = Math.min(
  setting('SOAK_WARMUP_MINUTES', 1, { min: 0, max: 60 }),
  MINUTES / 3,
);
const PORTS = { min: 29700, max: 29799 };
const benchDir = process.env.COFFER_BENCH_DIR ?? join(root, '.coffer-bench', 'soak');
const instancesDir = join(benchDir, 'instances');

interface MemorySnapshot {
  atMs: number;
  workerMiB: number | null;
  /** By instance id. */
  guestsMiB: Map<string, number | null>;
  mariadbdMiB: Map<string, number | null>;
  postgresBytes: number;
  redisUsedBytes: number;
  backupStoreBytes: number;
}

/** One RESP command to Redis (INFO is all this benchmark asks), with AUTH when the URL carries a password. */
async function redisInfo(url: string, section: string): Promise<string> {
  const { hostname, port, password } = new URL(url);
  const encode = (...args: string[]) =>
    `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname || '127.0.0.1', port: Number(port || 6379) });
    const timer = setTimeout(() => socket.destroy(new Error('redis INFO timed out')), 5_000);
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('connect', () =>
      socket.write(
        (password ? encode('AUTH', decodeURIComponent(password)) : '') + encode('INFO', section),
      ),
    );
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const bulk = /\$(\d+)\r\n/.exec(buffer);
      if (buffer.startsWith('-') || /^\+OK\r\n-/.test(buffer)) {
        socket.destroy();
        reject(new Error(`redis: ${buffer.trim()}`));
      } else if (
        bulk &&
        Buffer.byteLength(buffer.slice(bulk.index + bulk[0].length)) >= Number(bulk[1])
      ) {
        clearTimeout(timer);
        socket.end();
        resolve(buffer.slice(bulk.index + bulk[0].length));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function instanceIdOf(cmdline: string): string | null {
  return /instances\/([0-9a-f-]{36})\//.exec(cmdline)?.[1] ?? null;
}

async function main() {
  const bench = await startBench('Soak benchmark', {
    benchDir,
    instancesDir,
    portRange: `${PORTS.min}-${PORTS.max}`,
    env: { COFFER_CREATE_TIMEOUT_SECONDS: '1800' },
    isUnlimited: true,
  });
  const { worker, prisma, caller, project, untilInstance, deleteInstances } = bench;
  const flavors = await caller.catalog.flavors();
  const flavor = [...flavors].sort((a, b) => a.ramMb - b.ramMb)[0]!;

  async function snapshot(): Promise<MemorySnapshot> {
    const guestsMiB = new Map<string, number | null>();
    const mariadbdMiB = new Map<string, number | null>();
    for (const found of processesMentioning(join(instancesDir, 'instances'))) {
      const id = instanceIdOf(found.args.join(' '));
      if (!id) continue;
      if (isGuest(found)) guestsMiB.set(id, rssMiB(found.pid));
      else if (isMariadbd(found)) mariadbdMiB.set(id, rssMiB(found.pid));
    }
    const [size] = await prisma.$queryRaw<
      Array<{ bytes: bigint }>
    >`SELECT pg_database_size(current_database()) AS bytes`;
    const info = await redisInfo(process.env.REDIS_URL!, 'memory');
    return {
      atMs: now(),
      workerMiB: rssMiB(worker.pid!),
      guestsMiB,
      mariadbdMiB,
      postgresBytes: Number(size?.bytes ?? Number.NaN),
      redisUsedBytes: Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN),
      backupStoreBytes: (() => {
        try {
          return sizeOfTree(join(instancesDir, 'backups'));
        } catch {
          return 0;
        }
      })(),
    };
  }

  // 1. The instances, through the API, all at once.
  const password = `Soak-${Date.now()}-pw`;
  const createStarted = now();
  const ids = await Promise.all(
    Array.from({ length: INSTANCES }, async (_, index) => {
      const created = await caller.instance.create({
        projectId: project.id,
        name: `soak-${index + 1}`,
        flavorId: flavor.id,
        volumeSizeGb: flavor.defaultVolumeGb,
        databases: [{ name: 'soak' }],
        users: [{ name: 'soak_app', host: '%', password, databases: ['soak'] }],
      });
      await untilInstance(created.id, (instance) => instance.status === 'ACTIVE');
      return created.id;
    }),
  );
  const createMs = now() - createStarted;
  const rows = await prisma.instance.findMany({ where: { id: { in: ids } } });
  console.log(
    `${INSTANCES} instances ACTIVE in ${round(createMs / 1000, 1)} s (flavor ${flavor.name})`,
  );

  // 2. Schedules as a person sets them (the API allows hourly at most), then compressed to minutes.
  for (const id of ids) {
    await caller.backup.setSchedule({
      projectId: project.id,
      instanceId: id,
      fullType: 'FULL',
      fullIntervalMinutes: 60,
      incrementalIntervalMinutes: 15,
      retainFullCount: RETAIN_FULL,
    });
  }
  /** The tenant's connection to an instance's `soak` database. */
  const connectTo = (row: (typeof rows)[number]) =>
    mysql.createConnection({
      host: row.host!,
      port: row.port!,
      user: 'soak_app',
      password,
      database: 'soak',
      connectTimeout: 5_000,
    });
  const connections = new Map<string, Connection>();
  for (const row of rows) {
    const connection = await connectTo(row);
    await connection.query(
      'CREATE TABLE events (id BIGINT AUTO_INCREMENT PRIMARY KEY, payload CHAR(100), at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6))',
    );
    connections.set(row.id, connection);
  }
  const beforeLoad = await snapshot();
  const loadStarted = now();
  // The machine's load average while the insert load runs (no bare side here: no ratios).
  const loadSampler = sampleLoad();
  // The first fulls spread over one full interval, as schedules set at different times would be.
  for (const [index, id] of ids.entries()) {
    await prisma.backupSchedule.update({
      where: { instanceId: id },
      data: {
        fullIntervalMinutes: FULL_MINUTES,
        incrementalIntervalMinutes: INCREMENTAL_MINUTES,
        nextFullAt: new Date(Date.now() + (index / ids.length) * FULL_MINUTES * 60_000),
        nextIncrementalAt: null,
      },
    });
  }

  // 3. The load: INSERT_RATE single-row inserts per second on each instance, until the deadline.
  const deadline = loadStarted + MINUTES * 60_000;
  const maxRows = Math.ceil(INSERT_RATE * MINUTES * 60 * 1.1);
  let inserted = 0;
  let refused = 0;
  const latencies: number[] = [];
  const errors = new Map<string, number>();
  const load = rows.map(async (row, index) => {
    let connection: Connection | null = connections.get(row.id)!;
    const interval = 1000 / INSERT_RATE;
    let next = loadStarted + (index * interval) / rows.length;
    for (let count = 0; count < maxRows && now() < deadline; count++) {
      const started = now();
      try {
        connection ??= await connectTo(row);
        await connection.query('INSERT INTO events (payload) VALUES (REPEAT(?, 100))', ['x']);
        inserted++;
        latencies.push(now() - started);
      } catch (error) {
        refused++;
        const message = (error as { code?: string }).code ?? String(error);
        errors.set(message, (errors.get(message) ?? 0) + 1);
        await connection?.end().catch(() => undefined);
        connection = null;
      }
      next += interval;
      const wait = next - now();
      if (wait > 0) await new Promise((done) => setTimeout(done, wait));
    }
    await connection?.end().catch(() => undefined);
  });

  // Backups seen (their last status) and memory, sampled while the load runs.
  const backupsSeen = new Map<string, { status: string; type: string; fault: string | null }>();
  /** Every backup ever seen COMPLETED (retention may remove it later, through DELETING). */
  const everCompleted = new Set<string>();
  const removedByRetention = new Set<string>();
  /** The project's backups as they are now, each recorded as seen (and as completed once it was). */
  const lookAtBackups = async () => {
    const present = await prisma.backup.findMany({
      where: { projectId: project.id },
      select: { id: true, status: true, type: true, faultMessage: true },
    });
    for (const backup of present) {
      if (backup.status === 'COMPLETED') everCompleted.add(backup.id);
      backupsSeen.set(backup.id, {
        status: backup.status,
        type: backup.type,
        fault: backup.faultMessage,
      });
    }
    return present;
  };
  /** Memory every 30 s from the end of the warm-up: what growth per hour is fitted to. */
  const samples: MemorySnapshot[] = [];
  let warm: MemorySnapshot | null = null;
  const watch = (async () => {
    let nextSample = Number.POSITIVE_INFINITY;
    while (now() < deadline) {
      const present = await lookAtBackups();
      const presentIds = new Set(present.map((backup) => backup.id));
      for (const id of backupsSeen.keys()) if (!presentIds.has(id)) removedByRetention.add(id);
      if (!warm && now() >= loadStarted + WARMUP_MINUTES * 60_000) {
        warm = await snapshot();
        samples.push(warm);
        nextSample = now() + 30_000;
      } else if (warm && now() >= nextSample) {
        samples.push(await snapshot());
        nextSample += 30_000;
      }
      await new Promise((done) => setTimeout(done, Math.min(2_000, Math.max(0, deadline - now()))));
    }
  })();
  await Promise.all([...load, watch]);
  const machineLoad = loadSampler.stop();
  const end = await snapshot();
  const start = warm ?? beforeLoad;
  if (samples.length === 0) samples.push(start);
  samples.push(end);

  // 4. The end state: every instance ACTIVE; schedules stopped before the instances go.
  const endRows = await prisma.instance.findMany({ where: { id: { in: ids } } });
  const statuses = await Promise.all(
    endRows.map(
      async (row) =>
        (await caller.instance.get({ projectId: project.id, instanceId: row.id })).status,
    ),
  );
  const notActive = statuses.filter((status) => status !== 'ACTIVE').length;
  // What happened unasked (a server or guest that died and was started again): none expected.
  const events = await prisma.instanceEvent.groupBy({
    by: ['kind'],
    where: { instanceId: { in: ids } },
    _count: true,
  });
  const unaskedEvents = Object.fromEntries(events.map((event) => [event.kind, event._count]));
  const unaskedCount = events.reduce((total, event) => total + event._count, 0);
  const schedules = await prisma.backupSchedule.findMany({ where: { instanceId: { in: ids } } });
  const postponed = schedules
    .filter((schedule) => schedule.lastError !== null)
    .map((schedule) => schedule.lastError!);
  await prisma.backupSchedule.updateMany({
    where: { instanceId: { in: ids } },
    data: { isEnabled: false },
  });
  // Backups still running finish before the instances go (bounded).
  for (
    const until = now() + 300_000;
    now() < until;
    await new Promise((done) => setTimeout(done, 1_000))
  ) {
    const present = await lookAtBackups();
    if (present.every((backup) => backup.status === 'COMPLETED' || backup.status === 'FAILED'))
      break;
  }
  const seen = [...backupsSeen.entries()];
  const backupsFailed = seen.filter(([, backup]) => backup.status === 'FAILED');
  const backupsCompleted = everCompleted.size;
  const backupsStored = await prisma.backup.count({ where: { projectId: project.id } });
  const perInstanceStored = await prisma.backup.groupBy({
    by: ['instanceId'],
    where: { projectId: project.id },
    _count: true,
  });
  const maxStoredPerInstance = Math.max(0, ...perInstanceStored.map((group) => group._count));

  await deleteInstances(ids);
  const leftovers = await endBench(bench, benchDir);
  const leftoverDirs = (() => {
    try {
      return readdirSync(join(instancesDir, 'instances'));
    } catch {
      return [];
    }
  })();
  rmSync(benchDir, { recursive: true, force: true });

  // 5. Figures.
  const hours = (end.atMs - start.atMs) / 3_600_000;
  const values = (map: Map<string, number | null>) =>
    [...map.values()].filter((value): value is number => value !== null);
  const sum = (items: number[]) =>
    round(
      items.reduce((total, item) => total + item, 0),
      1,
    );
  /** Least-squares slope of a process's RSS over the samples, in MiB per hour (null: fewer than 2 samples). */
  const slope = (read: (sample: MemorySnapshot) => number | null | undefined): number | null => {
    const points = samples
      .map((sample) => [(sample.atMs - start.atMs) / 3_600_000, read(sample)] as const)
      .filter((point): point is readonly [number, number] => point[1] != null);
    if (points.length < 2) return null;
    const meanX = points.reduce((total, [x]) => total + x, 0) / points.length;
    const meanY = points.reduce((total, [, y]) => total + y, 0) / points.length;
    const covariance = points.reduce((total, [x, y]) => total + (x - meanX) * (y - meanY), 0);
    const variance = points.reduce((total, [x]) => total + (x - meanX) ** 2, 0);
    return variance > 0 ? round(covariance / variance, 1) : null;
  };
  const growths = (pick: (sample: MemorySnapshot) => Map<string, number | null>) =>
    [...pick(end).keys()]
      .map((id) => slope((sample) => pick(sample).get(id)))
      .filter((value): value is number => value !== null);
  const guestGrowth = growths((sample) => sample.guestsMiB);
  const serverGrowth = growths((sample) => sample.mariadbdMiB);
  const workerGrowth = slope((sample) => sample.workerMiB);
  const mib = (bytes: number) => round(bytes / 1024 / 1024, 1);
  /** The rows of one kind of process per instance (`all`, `one`: their names): the sum of their RSS, then one's median and largest growth. */
  const perProcessRows = (
    [all, one]: [string, string],
    pick: (sample: MemorySnapshot) => Map<string, number | null>,
    growth: number[],
  ): Array<Array<string | number>> => [
    [`${all} RSS, sum (MiB)`, sum(values(pick(start))), sum(values(pick(end))), sum(growth), ''],
    [
      `  one ${one}, median | max growth (MiB)`,
      round(median(values(pick(start))), 1),
      round(median(values(pick(end))), 1),
      `${round(median(growth), 1)} | ${Math.max(...growth)}`,
      '',
    ],
  ];
  const failedOperations = refused + backupsFailed.length + notActive + unaskedCount;
  const sortedLatencies = [...latencies].sort((a, b) => a - b);
  const p = (q: number) =>
    round(
      sortedLatencies[
        Math.min(sortedLatencies.length - 1, Math.floor(q * sortedLatencies.length))
      ] ?? Number.NaN,
      1,
    );

  printTable(
    `Soak: ${INSTANCES} instances (${flavor.name}), ${INSERT_RATE} inserts/s each, for ${MINUTES} min; schedules: full every ${FULL_MINUTES} min, incremental every ${INCREMENTAL_MINUTES} min, keep ${RETAIN_FULL}; memory window ${round(hours * 60, 1)} min after ${round(WARMUP_MINUTES, 1)} min of warm-up; ${loadText(machineLoad)}`,
    ['', 'start', 'end', 'growth per hour', ''],
    [
      [
        'worker RSS (MiB)',
        start.workerMiB ?? 'n/a',
        end.workerMiB ?? 'n/a',
        workerGrowth ?? 'n/a',
        '',
      ],
      ...perProcessRows(['guests', 'guest'], (sample) => sample.guestsMiB, guestGrowth),
      ...perProcessRows(['mariadbd', 'mariadbd'], (sample) => sample.mariadbdMiB, serverGrowth),
      [
        'PostgreSQL database (MiB)',
        mib(start.postgresBytes),
        mib(end.postgresBytes),
        slope((sample) => mib(sample.postgresBytes)) ?? 'n/a',
        '',
      ],
      [
        'Redis used_memory (MiB)',
        mib(start.redisUsedBytes),
        mib(end.redisUsedBytes),
        slope((sample) => mib(sample.redisUsedBytes)) ?? 'n/a',
        '',
      ],
      [
        'backup store (MiB)',
        mib(start.backupStoreBytes),
        mib(end.backupStoreBytes),
        slope((sample) => mib(sample.backupStoreBytes)) ?? 'n/a',
        '',
      ],
    ],
  );
  printTable(
    'Operations',
    ['', 'count', 'target'],
    [
      ['inserts acknowledged', inserted, ''],
      ['inserts refused', refused, 0],
      [
        'insert latency p50 | p99 | max (ms)',
        `${p(0.5)} | ${p(0.99)} | ${round(sortedLatencies.at(-1) ?? Number.NaN, 1)}`,
        '',
      ],
      ['scheduled backups completed', backupsCompleted, ''],
      ['scheduled backups failed', backupsFailed.length, 0],
      ['backups removed by retention', removedByRetention.size, ''],
      [
        'backups stored at the end (most of one instance)',
        `${backupsStored} (${maxStoredPerInstance})`,
        '',
      ],
      ['schedules postponed at the end (instance busy)', postponed.length, ''],
      ['instances not ACTIVE at the end', notActive, 0],
      [
        'unasked restarts (instance events)',
        unaskedCount === 0 ? 0 : JSON.stringify(unaskedEvents),
        0,
      ],
      ['failed operations', failedOperations, 0],
    ],
  );
  console.log(
    `\nworker RSS every 30 s from the warm-up (MiB): ${samples.map((sample) => sample.workerMiB).join(' ')}`,
  );
  for (const [message, count] of errors) console.log(`insert error ${message}: ${count}`);
  for (const [id, backup] of backupsFailed)
    console.log(`backup ${id} (${backup.type}) FAILED: ${backup.fault}`);
  if (leftovers.length)
    console.log(`\nWARNING: processes left behind: ${leftovers.map((p) => p.pid).join(', ')}`);
  if (leftoverDirs.length)
    console.log(`\nWARNING: instance directories left behind: ${leftoverDirs.join(', ')}`);
  const memory = (snap: MemorySnapshot) => ({
    workerMiB: snap.workerMiB,
    guestsMiB: Object.fromEntries(snap.guestsMiB),
    mariadbdMiB: Object.fromEntries(snap.mariadbdMiB),
  });
  console.log(
    JSON.stringify({
      bench: 'soak',
      minutes: MINUTES,
      instances: INSTANCES,
      flavor: flavor.name,
      insertRatePerInstance: INSERT_RATE,
      schedule: {
        fullMinutes: FULL_MINUTES,
        incrementalMinutes: INCREMENTAL_MINUTES,
        retainFull: RETAIN_FULL,
      },
      load: machineLoad,
      createAllMs: Math.round(createMs),
      memoryWindowMinutes: round(hours * 60, 2),
      memory: { start: memory(start), end: memory(end), beforeLoad: memory(beforeLoad) },
      growthMiBPerHour: {
        worker: workerGrowth,
        guestsSum: sum(guestGrowth),
        guestMedian: round(median(guestGrowth), 1),
        guestMax: Math.max(...guestGrowth),
        mariadbdSum: sum(serverGrowth),
        mariadbdMedian: round(median(serverGrowth), 1),
        mariadbdMax: Math.max(...serverGrowth),
      },
      workerRssSamplesMiB: samples.map((sample) => sample.workerMiB),
      postgresBytes: { start: start.postgresBytes, end: end.postgresBytes },
      redisUsedMemoryBytes: { start: start.redisUsedBytes, end: end.redisUsedBytes },
      backupStoreBytes: { start: start.backupStoreBytes, end: end.backupStoreBytes },
      inserts: { acknowledged: inserted, refused, p50Ms: p(0.5), p99Ms: p(0.99) },
      backups: {
        completed: backupsCompleted,
        failed: backupsFailed.length,
        removedByRetention: removedByRetention.size,
        storedAtEnd: backupsStored,
        maxStoredPerInstance,
      },
      schedulesPostponedAtEnd: postponed.length,
      instancesNotActive: notActive,
      instanceEvents: unaskedEvents,
      failedOperations,
      leftoverProcesses: leftovers.length,
    }),
  );
  process.exit(failedOperations > 0 || leftovers.length > 0 ? 1 : 0);
}

runBench(main);
