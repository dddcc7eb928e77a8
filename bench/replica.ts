/**
 * Replica benchmark (issue: read replicas). On a source holding at least 1 GB of data
 * (generated with INSERT … SELECT doubling), measured in the same run, alternating:
 *   - bare:   mariadb-backup --backup --stream=xbstream | mbstream -x (source to replica
 *     directory in one pass), mariadb-backup --prepare, --move-back (what Coffer does too:
 *     the unpacked files are moved, not copied), mariadbd start, then SET GLOBAL
 *     gtid_slave_pos + CHANGE MASTER … MASTER_USE_GTID=slave_pos + START SLAVE, until both
 *     replication threads run; into a plain directory of the host, and (like for like) into
 *     an ext4 loop volume made as the local provider makes an instance's (direct I/O);
 *   - Coffer: the tRPC replica.create call until the live subscription shows the replica
 *     ACTIVE and REPLICATING (a new instance whose guest receives the snapshot straight from
 *     its source's guest, issue 18: on one host over a Unix socket from the source's tool to
 *     the replica's unpacker, else over TLS-PSK; unpacked as it arrives, prepared, started,
 *     attached; the snapshot's row removed afterwards);
 *   median of BENCH_RUNS (default 3): time ratio, median against median and best against
 *   best (target ≤ 1.1 both); the machine's load average during the run (bench/lib/load.ts);
 *   the guests' peak memory (VmHWM): the source's over the whole run, each replica's once built;
 *   - replication lag under a steady insert load on the source (BENCH_LOAD_RATE rows/s,
 *     default 500, for BENCH_LOAD_SECONDS, default 20), on both kept replicas at once, once
 *     the host wrote back what the builds left dirty (`sync`, timed) and Coffer's replica
 *     (built last) is BENCH_LAG_SETTLE_SECONDS (30) old: the delay until a probe row written
 *     on the source is readable on the replica (p50, p95, max), on Coffer's replica and on the
 *     bare one, and the largest Seconds_Behind_Master Coffer's heartbeats reported meanwhile.
 * Run with `npm run bench:replica` (scripts/coffer.mjs prepares services and a database).
 * BENCH_DATA_MB (default 1024) sets the data size.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import mysql from 'mysql2/promise';

import {
  destroyBare,
  runTool,
  serverUser,
  startMariadbd,
  type BareServer,
} from './lib/bare-mariadb';
import { endBench, root, runBench, startDataBench } from './lib/coffer';
import { loadText, sampleLoad } from './lib/load';
import { withLoopVolume } from './lib/loop-volume';
import { median, now, printTable, round, timingRows } from './lib/report';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DATA_MB = Number(process.env.BENCH_DATA_MB ?? 1024);
const LOAD_RATE = Number(process.env.BENCH_LOAD_RATE ?? 500);
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 20);
const LAG_SETTLE_SECONDS = Number(process.env.BENCH_LAG_SETTLE_SECONDS ?? 30);
const PORTS = { min: 29480, max: 29499 };
const BARE_PORT = 29479;
const BARE_LOOP_PORT = 29478;
const benchDir = process.env.COFFER_BENCH_DIR ?? join(root, '.coffer-bench', 'replica');
const instancesDir = join(benchDir, 'instances');
const bareDir = join(benchDir, 'bare');

/** A guest agent's peak resident memory (VmHWM) in MiB, from its pid file; null when it is gone. */
function guestPeakMiB(instanceId: string): number | null {
  try {
    const pid = Number(
      readFileSync(join(instancesDir, 'instances', instanceId, 'run', 'guest.pid'), 'utf8'),
    );
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return round(Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024, 1);
  } catch {
    return null;
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Probe ids are never reused, so a probe is never mistaken for an earlier run's. */
let nextProbeId = 1;

interface LagFigures {
  rowsPerSecond: number;
  probes: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  maxReportedLagSeconds: number | null;
}

type Endpoint = { host: string; port: number; user: string; password: string; database: string };

/**
 * Rows written on `source` at a steady rate, and for each replica at once (the same load, the
 * same seconds) probes whose delay until readable there is measured; `sample` reads what
 * Coffer's heartbeats reported meanwhile.
 */
async function measureLag(
  source: Endpoint,
  replicas: Array<{ replica: Endpoint; sample?: () => Promise<number | null> }>,
): Promise<LagFigures[]> {
  const writers = await Promise.all([1, 2, 3, 4].map(() => mysql.createConnection(source)));
  await writers[0]!.query(
    'CREATE TABLE IF NOT EXISTS load_rows (id BIGINT AUTO_INCREMENT PRIMARY KEY, payload CHAR(100), at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6))',
  );
  await writers[0]!.query('CREATE TABLE IF NOT EXISTS probes (id INT PRIMARY KEY)');
  const started = now();
  const deadline = started + LOAD_SECONDS * 1000;
  let written = 0;
  // The load: LOAD_RATE single-row autocommit inserts per second, spread over four connections.
  const load = writers.map(async (writer, index) => {
    const interval = (1000 * writers.length) / LOAD_RATE;
    let next = started + index * (interval / writers.length);
    while (now() < deadline) {
      await writer.query('INSERT INTO load_rows (payload) VALUES (REPEAT(?, 100))', ['x']);
      written++;
      next += interval;
      const wait = next - now();
      if (wait > 0) await new Promise((done) => setTimeout(done, wait));
    }
  });
  // Probes, per replica: one every 200 ms, each polled on that replica until it is there.
  const probing = replicas.map(async ({ replica, sample }) => {
    const probeWriter = await mysql.createConnection(source);
    const reader = await mysql.createConnection(replica);
    const delays: number[] = [];
    let reportedLag: number | null = null;
    for (let id = nextProbeId++; now() < deadline; id = nextProbeId++) {
      const writtenAt = now();
      await probeWriter.query('INSERT INTO probes (id) VALUES (?)', [id]);
      for (;;) {
        const [rows] = await reader.query('SELECT 1 FROM probes WHERE id = ?', [id]);
        if ((rows as unknown[]).length > 0) break;
        if (now() - writtenAt > 60_000)
          throw new Error(`probe ${id} did not reach the replica within 60 s: is it replicating?`);
        await new Promise((done) => setTimeout(done, 1));
      }
      delays.push(now() - writtenAt);
      if (sample) {
        const lag = await sample();
        if (lag !== null) reportedLag = Math.max(reportedLag ?? 0, lag);
      }
      const wait = writtenAt + 200 - now();
      if (wait > 0) await new Promise((done) => setTimeout(done, wait));
    }
    await probeWriter.end();
    await reader.end();
    return { delays, reportedLag };
  });
  const [, probed] = await Promise.all([Promise.all(load), Promise.all(probing)]);
  const seconds = (now() - started) / 1000;
  for (const connection of writers) await connection.end();
  return probed.map(({ delays, reportedLag }) => ({
    rowsPerSecond: round(written / seconds, 0),
    probes: delays.length,
    p50Ms: round(percentile(delays, 50), 1),
    p95Ms: round(percentile(delays, 95), 1),
    maxMs: round(Math.max(...delays), 1),
    maxReportedLagSeconds: reportedLag,
  }));
}

async function main() {
  const load = sampleLoad();
  // 1. The source, a tenant account, and ≥ DATA_MB of table data.
  const tenantPassword = `Bench-${Date.now()}-pw`;
  const bench = await startDataBench('Replica benchmark', {
    benchDir,
    instancesDir,
    portRange: `${PORTS.min}-${PORTS.max}`,
    env: { COFFER_CREATE_TIMEOUT_SECONDS: '1800' },
    bareDir,
    dataMb: DATA_MB,
    tenant: {
      databases: [{ name: 'bench' }],
      users: [{ name: 'bench_app', host: '%', password: tenantPassword, databases: ['bench'] }],
    },
  });
  const { prisma, caller, project, untilInstance, deleteInstances, flavor, source } = bench;
  const { socket, myCnf, generatedMiB, datadirBytes } = source;
  const sourceRow = await prisma.instance.findUniqueOrThrow({ where: { id: source.id } });
  // The bare replica's account on the source.
  await source.admin.query(
    "CREATE USER IF NOT EXISTS 'bench_repl'@'%' IDENTIFIED BY 'bench-repl-password'",
  );
  await source.admin.query("GRANT REPLICATION SLAVE ON *.* TO 'bench_repl'@'%'");
  await source.admin.end();

  type Steps = { streamMs: number; prepareMs: number; moveBackMs: number };
  const bareSteps: Steps[] = [];
  const bareLoopSteps: Steps[] = [];
  const bareUser = serverUser(bareDir);

  /**
   * The bare replica in `base` (a directory of the host, or a loop volume's mount): stream,
   * prepare, move-back, start on `port`, CHANGE MASTER, both threads running.
   */
  async function bareReplica(
    index: number,
    base = bareDir,
    port = BARE_PORT,
    steps = bareSteps,
  ): Promise<{ ms: number; server: BareServer }> {
    const target = join(base, `replica-${index}`);
    const stream = join(target, 'stream');
    const datadir = join(target, 'data');
    rmSync(target, { recursive: true, force: true });
    mkdirSync(stream, { recursive: true });
    if (bareUser === 'mysql') spawnSync('chown', ['mysql:mysql', target]);
    const started = now();
    runTool(
      `mariadb-backup --defaults-file=${myCnf} --backup --stream=xbstream --user=root --socket=${socket} --target-dir=${join(target, 'tmp')} 2>/dev/null | mbstream -x -C ${stream}`,
      [],
      { shell: true },
    );
    const streamed = now();
    runTool('mariadb-backup', ['--prepare', `--target-dir=${stream}`]);
    const prepared = now();
    // Read before --move-back moves the files away.
    const gtid =
      readFileSync(join(stream, 'xtrabackup_binlog_info'), 'utf8').trim().split(/\s+/)[2] ?? '';
    runTool('mariadb-backup', ['--move-back', `--target-dir=${stream}`, `--datadir=${datadir}`]);
    if (bareUser === 'mysql') runTool('chown', ['-R', 'mysql:mysql', datadir]);
    steps.push({
      streamMs: streamed - started,
      prepareMs: prepared - streamed,
      moveBackMs: now() - prepared,
    });
    const server = await startMariadbd({
      dir: target,
      datadir,
      port,
      user: bareUser,
      bufferPoolMb: Math.floor(flavor.ramMb / 2),
      args: [
        '--log-bin=mysql-bin',
        '--relay-log=relay-bin',
        `--server-id=${4000 + index}`,
        '--gtid-strict-mode=ON',
        '--log-slave-updates=ON',
        '--read-only=ON',
        '--skip-name-resolve',
      ],
    });
    const connection = await mysql.createConnection({ socketPath: server.socket, user: 'root' });
    await connection.query('SET GLOBAL gtid_slave_pos = ?', [gtid]);
    await connection.query(
      `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ?, MASTER_USER = 'bench_repl', MASTER_PASSWORD = 'bench-repl-password', MASTER_CONNECT_RETRY = 5, MASTER_USE_GTID = slave_pos`,
      [sourceRow.port],
    );
    await connection.query('START SLAVE');
    for (;;) {
      const [rows] = await connection.query('SHOW SLAVE STATUS');
      const status = (rows as Array<Record<string, string>>)[0]!;
      if (status.Slave_IO_Running === 'Yes' && status.Slave_SQL_Running === 'Yes') break;
      if (status.Last_IO_Error || status.Last_SQL_Error)
        throw new Error(
          `the bare replica does not replicate: ${status.Last_IO_Error || status.Last_SQL_Error}`,
        );
      await new Promise((done) => setTimeout(done, 10));
    }
    const ms = now() - started;
    await connection.end();
    return { ms, server };
  }

  /**
   * The same onto an ext4 loop volume of the instance's size, made (untimed) as the local
   * provider makes one (packages/compute/src/local/volume.ts: mkfs, mount, then the loop
   * device switched to direct I/O, as Coffer's replica writes into its own).
   */
  async function bareLoopReplica(index: number): Promise<number> {
    return withLoopVolume(bareDir, `loop-${index}`, flavor.defaultVolumeGb, async (mountPoint) => {
      if (bareUser === 'mysql') spawnSync('chown', ['mysql:mysql', mountPoint]);
      const { ms, server } = await bareReplica(index, mountPoint, BARE_LOOP_PORT, bareLoopSteps);
      await destroyBare(server);
      return ms;
    });
  }

  // 2. Replicas, alternating bare and Coffer.
  const bareMs: number[] = [];
  const bareLoopMs: number[] = [];
  const cofferMs: number[] = [];
  let keptBare: BareServer | null = null;
  let keptCoffer: string | null = null;
  let bareBuiltAt = 0;
  let cofferBuiltAt = 0;
  const replicaPeaksMiB: Array<number | null> = [];
  for (let index = 0; index < RUNS; index++) {
    const bare = await bareReplica(index);
    bareMs.push(bare.ms);
    if (index === RUNS - 1) {
      keptBare = bare.server;
      bareBuiltAt = now();
    } else await destroyBare(bare.server);
    bareLoopMs.push(await bareLoopReplica(index));

    const started = now();
    const [replica] = await caller.replica.create({
      projectId: project.id,
      sourceInstanceId: source.id,
      name: `bench-replica-${index + 1}`,
    });
    await untilInstance(
      replica!.id,
      (instance) => instance.status === 'ACTIVE' && instance.replication?.state === 'REPLICATING',
    );
    cofferMs.push(now() - started);
    cofferBuiltAt = now();
    replicaPeaksMiB.push(guestPeakMiB(replica!.id));
    await untilInstance(source.id, (instance) => instance.status === 'ACTIVE');
    if (index === RUNS - 1) keptCoffer = replica!.id;
    else {
      await deleteInstances([replica!.id]);
    }
  }
  // The last snapshot goes once its replica is built, just after it turns ACTIVE.
  let snapshotsLeft = await prisma.backup.count({ where: { projectId: project.id } });
  for (const deadline = now() + 120_000; snapshotsLeft > 0 && now() < deadline;) {
    await new Promise((tick) => setTimeout(tick, 100));
    snapshotsLeft = await prisma.backup.count({ where: { projectId: project.id } });
  }

  // 3. Lag under a steady insert load, on both kept replicas at once (the same load, the
  // same seconds), once the host wrote back what the builds left dirty and the newest replica
  // (Coffer's, built last) had LAG_SETTLE_SECONDS to settle: a server just started from a
  // snapshot of this size still reads its pages from the disk (docs/benchmarks.md).
  const writebackStarted = now();
  spawnSync('sync', { stdio: 'ignore' });
  const writebackMs = now() - writebackStarted;
  const settleUntil = cofferBuiltAt + LAG_SETTLE_SECONDS * 1000;
  if (settleUntil > now()) await new Promise((tick) => setTimeout(tick, settleUntil - now()));
  const tenant = {
    host: sourceRow.host!,
    port: sourceRow.port!,
    user: 'bench_app',
    password: tenantPassword,
    database: 'bench',
  };
  const cofferReplica = await prisma.instance.findUniqueOrThrow({ where: { id: keptCoffer! } });
  const lagAges = {
    bareSeconds: round((now() - bareBuiltAt) / 1000, 1),
    cofferSeconds: round((now() - cofferBuiltAt) / 1000, 1),
  };
  const [cofferLag, bareLag] = (await measureLag(tenant, [
    {
      replica: { ...tenant, host: cofferReplica.host!, port: cofferReplica.port! },
      sample: async () => {
        const row = await prisma.instance.findUnique({
          where: { id: keptCoffer! },
          select: { replicationLagSeconds: true },
        });
        return row?.replicationLagSeconds ?? null;
      },
    },
    { replica: { ...tenant, host: '127.0.0.1', port: BARE_PORT } },
  ])) as [LagFigures, LagFigures];
  const sourcePeakMiB = guestPeakMiB(source.id);
  await destroyBare(keptBare!);

  await deleteInstances([keptCoffer!]);
  await deleteInstances([source.id]);
  const leftovers = await endBench(bench, benchDir);
  rmSync(benchDir, { recursive: true, force: true });

  const s = (ms: number) => round(ms / 1000, 2);
  const ratio = median(cofferMs) / median(bareMs);
  const bestRatio = Math.min(...cofferMs) / Math.min(...bareMs);
  const loopRatio = median(cofferMs) / median(bareLoopMs);
  const loopBestRatio = Math.min(...cofferMs) / Math.min(...bareLoopMs);
  const stepsJson = (steps: Steps[]) =>
    steps.map((step) => ({
      streamMs: Math.round(step.streamMs),
      prepareMs: Math.round(step.prepareMs),
      moveBackMs: Math.round(step.moveBackMs),
    }));
  const stepsText = (steps: Steps[]) =>
    steps.map((step) => `${s(step.streamMs)}|${s(step.prepareMs)}|${s(step.moveBackMs)}`).join(' ');
  const loadReport = load.stop();
  const replicaPeaks = replicaPeaksMiB.filter((peak): peak is number => peak !== null);
  printTable(
    `Replica of ${generatedMiB} MiB of table data (datadir ${round(datadirBytes / 1024 / 1024, 0)} MiB), median of ${RUNS}; flavor ${flavor.name}; ${loadText(loadReport)}`,
    ['', 'bare', 'Coffer', 'ratio', 'target'],
    [
      ...timingRows('create a replica until it replicates (s)', bareMs, cofferMs, '≤ 1.1'),
      [
        '  best against best (s)',
        s(Math.min(...bareMs)),
        s(Math.min(...cofferMs)),
        round(bestRatio),
        '≤ 1.1',
      ],
      ['  bare: stream | prepare | move-back (s)', stepsText(bareSteps), '', '', ''],
      [
        'bare onto a loop volume (ext4, direct I/O, like an instance): median, runs (s)',
        `${s(median(bareLoopMs))} (${bareLoopMs.map(s).join(' ')})`,
        s(median(cofferMs)),
        `${round(loopRatio)} (best ${round(loopBestRatio)})`,
        '',
      ],
      [
        '  bare onto a loop volume: stream | prepare | move-back (s)',
        stepsText(bareLoopSteps),
        '',
        '',
        '',
      ],
      [
        'guest peak RSS (MiB): source | replicas',
        '',
        `${sourcePeakMiB ?? 'n/a'} | ${replicaPeaksMiB.map((peak) => peak ?? 'n/a').join(' ')}`,
        '',
        '',
      ],
    ],
  );
  printTable(
    `Replication lag under ${LOAD_RATE} inserts/s for ${LOAD_SECONDS} s, both replicas at once (delay until a probe row written on the source is readable on the replica), after the host's writeback (sync: ${s(writebackMs)} s), the replicas ${lagAges.bareSeconds} s (bare) and ${lagAges.cofferSeconds} s (Coffer) after their build`,
    ['', 'bare', 'Coffer'],
    [
      ['inserts/s achieved', bareLag.rowsPerSecond, cofferLag.rowsPerSecond],
      ['probes', bareLag.probes, cofferLag.probes],
      ['p50 (ms)', bareLag.p50Ms, cofferLag.p50Ms],
      ['p95 (ms)', bareLag.p95Ms, cofferLag.p95Ms],
      ['max (ms)', bareLag.maxMs, cofferLag.maxMs],
      ['max Seconds_Behind_Master reported (s)', 'n/a', cofferLag.maxReportedLagSeconds ?? 'n/a'],
    ],
  );
  if (snapshotsLeft > 0) console.log(`\nWARNING: ${snapshotsLeft} snapshot backup(s) left behind`);
  if (leftovers.length)
    console.log(`\nWARNING: processes left behind: ${leftovers.map((p) => p.pid).join(', ')}`);
  console.log(
    JSON.stringify({
      bench: 'replica',
      runs: RUNS,
      flavor: flavor.name,
      dataMiB: generatedMiB,
      datadirMiB: round(datadirBytes / 1024 / 1024, 0),
      create: {
        bareMedianMs: Math.round(median(bareMs)),
        cofferMedianMs: Math.round(median(cofferMs)),
        bareMs: bareMs.map(Math.round),
        cofferMs: cofferMs.map(Math.round),
        ratio: round(ratio),
        medianRatio: round(ratio),
        bestRatio: round(bestRatio),
        target: 1.1,
        bareSteps: stepsJson(bareSteps),
        bareLoop: {
          medianMs: Math.round(median(bareLoopMs)),
          ms: bareLoopMs.map(Math.round),
          medianRatio: round(loopRatio),
          bestRatio: round(loopBestRatio),
          steps: stepsJson(bareLoopSteps),
        },
      },
      load: loadReport,
      memory: {
        sourceGuestPeakMiB: sourcePeakMiB,
        replicaGuestPeakMiB: replicaPeaks.length ? Math.max(...replicaPeaks) : null,
        replicaGuestPeaksMiB: replicaPeaksMiB,
      },
      lag: {
        loadRate: LOAD_RATE,
        loadSeconds: LOAD_SECONDS,
        writebackMs: Math.round(writebackMs),
        settleSeconds: LAG_SETTLE_SECONDS,
        ageSeconds: lagAges,
        bare: bareLag,
        coffer: cofferLag,
      },
      snapshotsLeft,
      leftovers: leftovers.length,
    }),
  );
}

runBench(main);
