/**
 * Resize benchmark (issue 13): what Coffer's resizes cost against doing the same by hand to a
 * bare server on this machine, in the same run, alternating bare and Coffer each round:
 *   - flavor: Coffer's `instance.resizeFlavor` (m1.tiny ⇄ m1.small) from the call until the
 *     instance is ACTIVE again with the new buffer pool, against a bare `my.cnf` edit and a
 *     restart of a bare mariadbd of the same size and data (SIGTERM, start with the new
 *     buffer pool, first ping);
 *   - volume: Coffer's `instance.resizeVolume` (+1 GB) until ACTIVE, against growing a bare
 *     server's loop-mounted ext4 volume of the same size by hand: `truncate`, `losetup -c`,
 *     `resize2fs` online; where this machine refuses an online resize (no CAP_SYS_RESOURCE:
 *     then neither side tries), what an operator must do instead: stop the server, unmount,
 *     `e2fsck -f -p`, `resize2fs`, mount, start, first ping (what Coffer's local provider does
 *     there too, its guest stopping and starting the server).
 * Both servers hold the same `BENCH_DATA_MB` (default 32) MiB of rows. `BENCH_RUNS` rounds
 * (default 5), each with one flavor change each way and one volume growth. Reports medians
 * and best against best, and the load average over the run. Target: flavor ≤ 1.3×.
 * Run with `npm run bench:resize` (scripts/coffer.mjs prepares services and a database).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import mysql from 'mysql2/promise';

import { runTool, serverUser, startMariadbd, type BareServer } from './lib/bare-mariadb';
import {
  agentConfigOf,
  endBench,
  generateOrders,
  root,
  runBench,
  settle,
  startBench,
} from './lib/coffer';
import { loadText, sampleLoad } from './lib/load';
import { median, now, printTable, round, stats } from './lib/report';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const DATA_MB = Number(process.env.BENCH_DATA_MB ?? 32);
const benchDir = process.env.COFFER_BENCH_DIR ?? join(root, '.coffer-bench', 'resize');
const instancesDir = join(benchDir, 'instances');
const bareDir = join(benchDir, 'bare');
const BARE_PORT = 27950;
/** The buffer pool Coffer's my.cnf gives m1.tiny and m1.small (apps/guest's my-cnf sizing). */
const BUFFER_POOL_MB = { 'm1.tiny': 256, 'm1.small': 512 } as const;
type FlavorName = keyof typeof BUFFER_POOL_MB;

/** A bare server on its own loop-mounted ext4 volume, restarted with the options an operator's my.cnf would hold. */
class BareVolumeServer {
  readonly image = join(bareDir, 'volume.img');
  readonly mountPoint = join(bareDir, 'data');
  readonly runDir = join(bareDir, 'run');
  private device = '';
  private server: BareServer | null = null;
  private readonly user: string;
  volumeGb = 1;

  constructor() {
    mkdirSync(this.mountPoint, { recursive: true });
    mkdirSync(this.runDir, { recursive: true });
    this.user = serverUser(bareDir);
  }

  async create(bufferPoolMb: number): Promise<void> {
    runTool('truncate', ['-s', `${this.volumeGb}G`, this.image]);
    runTool('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=1,lazy_journal_init=1', this.image]);
    this.mount();
    const datadir = join(this.mountPoint, 'mysql');
    const install = spawnSync(
      'mariadb-install-db',
      [
        '--no-defaults',
        `--user=${this.user}`,
        `--datadir=${datadir}`,
        '--auth-root-authentication-method=socket',
        '--skip-test-db',
      ],
      { encoding: 'utf8' },
    );
    if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr}`);
    await this.start(bufferPoolMb);
  }

  /** The operator's my.cnf edit is one line: the restart is the cost. */
  async restart(bufferPoolMb: number): Promise<void> {
    await this.stop();
    await this.start(bufferPoolMb);
  }

  /**
   * Grows the volume by 1 GB: online if the machine allows it, else stopped for the offline
   * resize. An operator who knows the machine lacks CAP_SYS_RESOURCE does not try online (as
   * Coffer's local provider does not).
   */
  async grow(bufferPoolMb: number): Promise<'online' | 'offline'> {
    this.volumeGb += 1;
    runTool('truncate', ['-s', `${this.volumeGb}G`, this.image]);
    if (hasSysResource()) {
      runTool('losetup', ['-c', this.device]);
      const online = spawnSync('resize2fs', [this.device], { stdio: 'ignore' });
      if (online.status === 0) return 'online';
    }
    await this.stop();
    runTool('umount', [this.mountPoint]);
    runTool('e2fsck', ['-f', '-p', this.image]);
    runTool('resize2fs', [this.image]);
    this.mount();
    await this.start(bufferPoolMb);
    return 'offline';
  }

  socket(): string {
    return this.server!.socket;
  }

  async destroy(): Promise<void> {
    if (this.server) await this.stop();
    spawnSync('umount', ['-l', this.mountPoint], { stdio: 'ignore' });
  }

  private mount(): void {
    runTool('mount', ['-o', 'loop', this.image, this.mountPoint]);
    if (this.user === 'mysql') spawnSync('chown', ['-R', 'mysql:mysql', this.mountPoint]);
    const found = spawnSync('losetup', ['-j', this.image], { encoding: 'utf8' });
    this.device = found.stdout.split(':')[0]!.trim();
  }

  private async start(bufferPoolMb: number): Promise<void> {
    if (this.user === 'mysql') spawnSync('chown', ['mysql:mysql', this.runDir]);
    this.server = await startMariadbd({
      dir: this.runDir,
      datadir: join(this.mountPoint, 'mysql'),
      port: BARE_PORT,
      user: this.user,
      bufferPoolMb,
      // As Coffer's my.cnf: binary log, durable commits.
      args: [
        '--log-bin=mysql-bin',
        '--server-id=1',
        '--performance-schema=OFF',
        '--sync-binlog=1',
        '--innodb-flush-log-at-trx-commit=1',
      ],
    });
  }

  /**
   * SIGTERM (as systemd stops it), then until the process is gone. Not `mariadb-admin
   * shutdown`: it polls the pid file once a second, so every stop would cost a second more.
   */
  private async stop(): Promise<void> {
    const server = this.server!;
    process.kill(server.pid, 'SIGTERM');
    for (;;) {
      try {
        process.kill(server.pid, 0);
      } catch {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.server = null;
  }
}

/** Whether this process may grow an ext4 filesystem online (CAP_SYS_RESOURCE, bit 24 of CapEff). */
function hasSysResource(): boolean {
  const line = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return !line || ((BigInt(`0x${line[1]}`) >> 24n) & 1n) === 1n;
}

async function bufferPoolMbOf(socketPath: string): Promise<number> {
  const connection = await mysql.createConnection({ socketPath, user: 'root' });
  try {
    const [rows] = (await connection.query(
      'SELECT @@GLOBAL.innodb_buffer_pool_size AS size',
    )) as unknown as [Array<{ size: number }>];
    return Number(rows[0]!.size) / 1024 / 1024;
  } finally {
    await connection.end();
  }
}

async function main() {
  const loadSampler = sampleLoad();
  const bench = await startBench('Resize benchmark', {
    benchDir,
    instancesDir,
    portRange: '27900-27949',
    isUnlimited: true,
  });
  const { caller, project, untilInstance, deleteInstances } = bench;
  const flavors = await caller.catalog.flavors();
  const flavorId = (name: FlavorName) => flavors.find((flavor) => flavor.name === name)!.id;

  // Coffer's instance and the bare server: the same size, the same rows.
  const created = await caller.instance.create({
    projectId: project.id,
    name: 'bench-resize',
    flavorId: flavorId('m1.tiny'),
    volumeSizeGb: 1,
    databases: [{ name: 'app' }],
    users: [],
  });
  await untilInstance(created.id, (instance) => instance.status === 'ACTIVE');
  const cofferSocket = join(
    agentConfigOf(instancesDir, created.id).datastore.runDir,
    'mysqld.sock',
  );
  const bare = new BareVolumeServer();
  await bare.create(BUFFER_POOL_MB['m1.tiny']);
  for (const socketPath of [cofferSocket, bare.socket()]) {
    const admin = await mysql.createConnection({ socketPath, user: 'root' });
    await admin.query('CREATE DATABASE IF NOT EXISTS bench');
    await generateOrders(admin, DATA_MB);
    await settle(admin);
    await admin.end();
  }
  writeFileSync(join(bareDir, 'my.cnf'), `[mariadbd]\ninnodb_buffer_pool_size=256M\n`);

  const flavorMs = { bare: [] as number[], coffer: [] as number[] };
  const volumeMs = { bare: [] as number[], coffer: [] as number[] };
  let bareGrowth: 'online' | 'offline' = 'online';
  let cofferVolumeGb = 1;
  for (let run = 0; run < RUNS; run++) {
    for (const [from, to] of [
      ['m1.tiny', 'm1.small'],
      ['m1.small', 'm1.tiny'],
    ] as Array<[FlavorName, FlavorName]>) {
      // Bare: the one-line my.cnf edit, then the restart.
      let started = now();
      writeFileSync(
        join(bareDir, 'my.cnf'),
        `[mariadbd]\ninnodb_buffer_pool_size=${BUFFER_POOL_MB[to]}M\n`,
      );
      await bare.restart(BUFFER_POOL_MB[to]);
      flavorMs.bare.push(now() - started);
      if ((await bufferPoolMbOf(bare.socket())) !== BUFFER_POOL_MB[to])
        throw new Error(`the bare server did not take ${to}'s buffer pool`);

      started = now();
      await caller.instance.resizeFlavor({
        projectId: project.id,
        instanceId: created.id,
        flavorId: flavorId(to),
      });
      await untilInstance(created.id, (instance) => instance.status === 'ACTIVE');
      flavorMs.coffer.push(now() - started);
      const pool = await bufferPoolMbOf(cofferSocket);
      if (pool !== BUFFER_POOL_MB[to])
        throw new Error(`Coffer's server has a ${pool} MB buffer pool after ${from} → ${to}`);
      console.log(
        `round ${run + 1} ${from} → ${to}: bare ${round(flavorMs.bare.at(-1)! / 1000, 2)} s, Coffer ${round(flavorMs.coffer.at(-1)! / 1000, 2)} s`,
      );
    }

    let started = now();
    bareGrowth = await bare.grow(BUFFER_POOL_MB['m1.tiny']);
    volumeMs.bare.push(now() - started);
    started = now();
    cofferVolumeGb += 1;
    await caller.instance.resizeVolume({
      projectId: project.id,
      instanceId: created.id,
      volumeGb: cofferVolumeGb,
    });
    await untilInstance(created.id, (instance) => instance.status === 'ACTIVE');
    volumeMs.coffer.push(now() - started);
    console.log(
      `round ${run + 1} volume → ${cofferVolumeGb} GB: bare (${bareGrowth}) ${round(volumeMs.bare.at(-1)! / 1000, 2)} s, Coffer ${round(volumeMs.coffer.at(-1)! / 1000, 2)} s`,
    );
  }
  const load = loadSampler.stop();

  const flavor = { bare: stats(flavorMs.bare), coffer: stats(flavorMs.coffer) };
  const volume = { bare: stats(volumeMs.bare), coffer: stats(volumeMs.coffer) };
  const ratios = {
    flavorMedian: round(median(flavorMs.coffer) / median(flavorMs.bare), 2),
    flavorBest: round(Math.min(...flavorMs.coffer) / Math.min(...flavorMs.bare), 2),
    volumeMedian: round(median(volumeMs.coffer) / median(volumeMs.bare), 2),
    volumeBest: round(Math.min(...volumeMs.coffer) / Math.min(...volumeMs.bare), 2),
  };
  printTable(
    `Resize, ${RUNS} round(s), ${DATA_MB} MiB of rows; ${loadText(load)}`,
    ['operation', 'bare median s', 'Coffer median s', 'median ratio', 'best ratio', 'target'],
    [
      [
        'flavor m1.tiny ⇄ m1.small (my.cnf + restart)',
        flavor.bare.medianS,
        flavor.coffer.medianS,
        ratios.flavorMedian,
        ratios.flavorBest,
        '≤ 1.3',
      ],
      ['  runs (s)', flavor.bare.runsS.join(' '), flavor.coffer.runsS.join(' '), '', '', ''],
      [
        `volume +1 GB (bare: ${bareGrowth} resize2fs)`,
        volume.bare.medianS,
        volume.coffer.medianS,
        ratios.volumeMedian,
        ratios.volumeBest,
        '—',
      ],
      ['  runs (s)', volume.bare.runsS.join(' '), volume.coffer.runsS.join(' '), '', '', ''],
    ],
  );

  await bare.destroy();
  rmSync(bareDir, { recursive: true, force: true });
  await deleteInstances([created.id]);
  const left = await endBench(bench, benchDir);
  if (left.length > 0) console.warn(`left running: ${left.map((p) => p.pid).join(', ')}`);
  console.log(
    JSON.stringify({
      bench: 'resize',
      runs: RUNS,
      dataMb: DATA_MB,
      bareVolumeGrowth: bareGrowth,
      load,
      flavor,
      volume,
      ratios,
    }),
  );
}

runBench(main);
