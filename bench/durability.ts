/**
 * Durability benchmark (issue 11, item 6): what `sync_binlog=1` with
 * `innodb_flush_log_at_trx_commit=1` (Coffer's default since then, RDS's too) costs against the
 * relaxed `sync_binlog=0` with `innodb_flush_log_at_trx_commit=2`, on one Coffer instance (its
 * own my.cnf, through the tenant's TCP account), with Debian's sysbench:
 *   - `oltp_write_only` and `oltp_read_write`, each with both settings (switched with SET GLOBAL
 *     on the same running server), alternating which goes first from round to round;
 *   - each run `BENCH_SECONDS` (default 30) after an uncounted 5 s warm-up, `BENCH_THREADS` (default 4)
 *     clients, on `BENCH_TABLES` (default 4) tables of `BENCH_TABLE_SIZE` (default 50000) rows;
 *   - transactions per second, average and 95th-percentile latency, and InnoDB's fsyncs per
 *     transaction (Innodb_data_fsyncs); medians over `BENCH_RUNS` rounds (default 1), and the
 *     median of each round's durable/relaxed throughput ratio (its two runs are neighbours),
 *     best against best (each setting's highest tx/s), and the load average over the runs.
 * Run with `npm run bench:durability` (scripts/coffer.mjs prepares services and a database);
 * installs Debian's `sysbench` first when it is missing (as root).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import mysql, { type Connection } from 'mysql2/promise';

import { agentConfigOf, endBench, root, runBench, startBench } from './lib/coffer';
import { loadText, sampleLoad } from './lib/load';
import { median, printTable, round } from './lib/report';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const THREADS = Number(process.env.BENCH_THREADS ?? 4);
const TABLES = Number(process.env.BENCH_TABLES ?? 4);
const TABLE_SIZE = Number(process.env.BENCH_TABLE_SIZE ?? 50_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const WORKLOADS = ['oltp_write_only', 'oltp_read_write'] as const;
const SETTINGS = {
  relaxed: { syncBinlog: 0, flushLogAtTrxCommit: 2 },
  durable: { syncBinlog: 1, flushLogAtTrxCommit: 1 },
} as const;
type SettingName = keyof typeof SETTINGS;

const benchDir = process.env.COFFER_BENCH_DIR ?? join(root, '.coffer-bench', 'durability');
const instancesDir = join(benchDir, 'instances');
const USER = 'sb_user';
const PASSWORD = 'Durable-passw0rd-7';

interface RunResult {
  tps: number;
  avgMs: number;
  p95Ms: number;
  fsyncsPerTx: number;
}

function sysbench(args: string[], timeoutMs: number): string {
  const result = spawnSync('sysbench', args, {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.error)
    throw new Error(`sysbench could not run (${result.error.message}): apt-get install sysbench`);
  if (result.status !== 0)
    throw new Error(
      `sysbench ${args[0]} ${args.at(-1)} failed:\n${result.stdout}\n${result.stderr}`,
    );
  return result.stdout;
}

function figure(output: string, pattern: RegExp, what: string): number {
  const match = pattern.exec(output);
  if (!match?.[1]) throw new Error(`sysbench's output has no ${what}:\n${output}`);
  return Number(match[1]);
}

async function statusValue(admin: Connection, name: string): Promise<number> {
  const [rows] = (await admin.query('SHOW GLOBAL STATUS LIKE ?', [name])) as unknown as [
    Array<{ Value: string }>,
  ];
  return Number(rows[0]?.Value ?? 0);
}

/** Debian's sysbench, installed the way the project installs its system packages (scripts/lib/setup.mjs). */
async function ensureSysbench(): Promise<void> {
  const setupModule = join(root, 'scripts', 'lib', 'setup.mjs');
  const { ensureSystemPackages } = (await import(setupModule)) as {
    ensureSystemPackages: (packages: string[]) => void;
  };
  ensureSystemPackages(['sysbench']);
}

async function main() {
  await ensureSysbench();
  const bench = await startBench('Durability benchmark', {
    benchDir,
    instancesDir,
    portRange: '27700-27799',
  });
  const { prisma, caller, project, untilInstance, deleteInstances } = bench;
  const flavors = await caller.catalog.flavors();
  const flavor = flavors.find((candidate) => candidate.name === 'm1.small') ?? flavors[0]!;
  const created = await caller.instance.create({
    projectId: project.id,
    name: 'bench-durability',
    flavorId: flavor.id,
    volumeSizeGb: flavor.defaultVolumeGb,
    databases: [{ name: 'sbtest' }],
    users: [{ name: USER, host: '%', password: PASSWORD, databases: ['sbtest'] }],
  });
  await untilInstance(created.id, (instance) => instance.status === 'ACTIVE');
  const row = await prisma.instance.findUniqueOrThrow({ where: { id: created.id } });
  const socket = join(agentConfigOf(instancesDir, created.id).datastore.runDir, 'mysqld.sock');
  const admin = await mysql.createConnection({ socketPath: socket, user: 'root' });

  const [defaults] = (await admin.query(
    'SELECT @@GLOBAL.sync_binlog AS syncBinlog, @@GLOBAL.innodb_flush_log_at_trx_commit AS flush, @@GLOBAL.log_bin AS logBin',
  )) as unknown as [Array<{ syncBinlog: number; flush: number; logBin: number }>];
  console.log(
    `instance ${created.id} (${flavor.name}, ${row.host}:${row.port}): defaults sync_binlog=${defaults[0]!.syncBinlog}, innodb_flush_log_at_trx_commit=${defaults[0]!.flush}, log_bin=${defaults[0]!.logBin}`,
  );

  const common = [
    '--db-driver=mysql',
    `--mysql-host=${row.host}`,
    `--mysql-port=${row.port}`,
    `--mysql-user=${USER}`,
    `--mysql-password=${PASSWORD}`,
    '--mysql-db=sbtest',
    `--tables=${TABLES}`,
    `--table-size=${TABLE_SIZE}`,
  ];
  const prepareStarted = Date.now();
  sysbench(['oltp_read_write', ...common, `--threads=${Math.min(TABLES, 4)}`, 'prepare'], 600_000);
  console.log(
    `prepared ${TABLES} tables of ${TABLE_SIZE} rows in ${round((Date.now() - prepareStarted) / 1000, 1)} s`,
  );

  const loadSampler = sampleLoad();
  const results: Record<string, Record<SettingName, RunResult[]>> = {};
  for (const workload of WORKLOADS) results[workload] = { relaxed: [], durable: [] };
  for (let round_ = 0; round_ < RUNS; round_++) {
    for (const workload of WORKLOADS) {
      const order: SettingName[] =
        round_ % 2 === 0 ? ['relaxed', 'durable'] : ['durable', 'relaxed'];
      for (const name of order) {
        const setting = SETTINGS[name];
        await admin.query(`SET GLOBAL sync_binlog = ${setting.syncBinlog}`);
        await admin.query(
          `SET GLOBAL innodb_flush_log_at_trx_commit = ${setting.flushLogAtTrxCommit}`,
        );
        // A warm-up with the new setting, not counted (this sysbench has no --warmup-time).
        sysbench([workload, ...common, `--threads=${THREADS}`, '--time=5', 'run'], 120_000);
        const fsyncsBefore = await statusValue(admin, 'Innodb_data_fsyncs');
        const output = sysbench(
          [
            workload,
            ...common,
            `--threads=${THREADS}`,
            `--time=${SECONDS}`,
            '--report-interval=0',
            'run',
          ],
          (SECONDS + 120) * 1000,
        );
        const fsyncs = (await statusValue(admin, 'Innodb_data_fsyncs')) - fsyncsBefore;
        const transactions = figure(output, /transactions:\s+(\d+)/, 'transaction count');
        const result: RunResult = {
          tps: figure(
            output,
            /transactions:\s+\d+\s+\(([\d.]+) per sec/,
            'transactions per second',
          ),
          avgMs: figure(output, /avg:\s+([\d.]+)/, 'average latency'),
          p95Ms: figure(output, /95th percentile:\s+([\d.]+)/, '95th percentile'),
          fsyncsPerTx: transactions > 0 ? round(fsyncs / transactions, 2) : 0,
        };
        results[workload]![name].push(result);
        console.log(
          `round ${round_ + 1} ${workload} ${name}: ${result.tps} tx/s, avg ${result.avgMs} ms, p95 ${result.p95Ms} ms`,
        );
      }
    }
  }
  await admin.query('SET GLOBAL sync_binlog = 1');
  await admin.query('SET GLOBAL innodb_flush_log_at_trx_commit = 1');
  await admin.end();
  const load = loadSampler.stop();

  const summary: Record<string, unknown> = {};
  const rows: Array<Array<string | number>> = [];
  for (const workload of WORKLOADS) {
    const of = (name: SettingName) => {
      const runs = results[workload]![name];
      return {
        tps: round(median(runs.map((run) => run.tps)), 1),
        avgMs: round(median(runs.map((run) => run.avgMs)), 2),
        p95Ms: round(median(runs.map((run) => run.p95Ms)), 2),
        fsyncsPerTx: round(median(runs.map((run) => run.fsyncsPerTx)), 2),
      };
    };
    const relaxed = of('relaxed');
    const durable = of('durable');
    // Each round's two runs are neighbours in time: their ratio is steadier than a ratio of medians on a busy machine.
    const roundRatios = results[workload]!.durable.map((run, index) =>
      round(run.tps / results[workload]!.relaxed[index]!.tps, 3),
    );
    const tpsRatio = round(median(roundRatios), 3);
    const bestTps = (name: SettingName) =>
      Math.max(...results[workload]![name].map((run) => run.tps));
    const bestRatio = round(bestTps('durable') / bestTps('relaxed'), 3);
    summary[workload] = { relaxed, durable, roundRatios, tpsRatio, bestRatio };
    rows.push([
      workload,
      'sync_binlog=0, flush=2',
      relaxed.tps,
      relaxed.avgMs,
      relaxed.p95Ms,
      relaxed.fsyncsPerTx,
      '',
    ]);
    rows.push([
      workload,
      'sync_binlog=1, flush=1',
      durable.tps,
      durable.avgMs,
      durable.p95Ms,
      durable.fsyncsPerTx,
      `${tpsRatio}× (best ${bestRatio}×)`,
    ]);
  }
  printTable(
    `sysbench, ${THREADS} threads, ${SECONDS} s per run, ${TABLES} × ${TABLE_SIZE} rows, median of ${RUNS} round(s) (the last column: median of each round's durable/relaxed, best against best); ${loadText(load)}`,
    ['workload', 'setting', 'tx/s', 'avg ms', 'p95 ms', 'InnoDB fsyncs/tx', 'durable/relaxed'],
    rows,
  );

  await deleteInstances([created.id]);
  await endBench(bench, benchDir);
  console.log(
    JSON.stringify({
      bench: 'durability',
      seconds: SECONDS,
      threads: THREADS,
      tables: TABLES,
      tableSize: TABLE_SIZE,
      runs: RUNS,
      flavor: flavor.name,
      load,
      results: summary,
    }),
  );
}

runBench(main);
