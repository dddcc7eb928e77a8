/**
 * Backup and restore benchmark (issue: backups and restore). On one instance holding at
 * least 1 GB of data (generated with INSERT … SELECT doubling), measured in the same run:
 *   - bare backup:   mariadb-backup --backup --stream=xbstream | zstd -3 -T0 > file (zstd's
 *     default level on every core; also the literal `| zstd > file`, one thread)
 *   - Coffer backup: the tRPC backup.create call until the live subscription says COMPLETED
 *     (stream → zstd → 8 MiB chunks → AES-256-GCM → SHA-256 → local object store, manifest)
 *   alternating, median of 3: time ratio (target ≤ 1.15) and stored size ratio (≤ 1.05);
 *   - bare restore:   zstd -d | mbstream -x, mariadb-backup --prepare, --copy-back, start, ping
 *   - Coffer restore: instance.create with restoreFromBackupId until ACTIVE (fetch and verify
 *     every chunk, unpack, prepare, move back, start), median of 3: time ratio (≤ 1.2);
 *   - peak RSS of the guest agent during the backups (VmHWM), against its bound.
 * Run with `npm run bench:backup` (scripts/coffer.mjs prepares services and a database).
 * BENCH_DATA_MB (default 1024) sets the data size, BENCH_RUNS (default 3) the runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { isGuest, processesMentioning } from '@coffer/testing/processes';
import mysql from 'mysql2/promise';

import { destroyBare, runTool, startMariadbd } from './lib/bare-mariadb';
import {
  agentConfigOf,
  changeOf,
  endBench,
  root,
  runBench,
  sizeOfTree,
  startDataBench,
} from './lib/coffer';
import { median, now, printTable, round, timingRows } from './lib/report';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DATA_MB = Number(process.env.BENCH_DATA_MB ?? 1024);
const CHUNK_MB = 8;
const ZSTD_LEVEL = 2;
const UPLOAD_CONCURRENCY = 4;
const benchDir = process.env.COFFER_BENCH_DIR ?? join(root, '.coffer-bench', 'backup');
const instancesDir = join(benchDir, 'instances');
const bareDir = join(benchDir, 'bare');

function peakRssMiB(pid: number): { peak: number; now: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const peak = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
    const current = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
    return { peak: round(peak / 1024, 1), now: round(current / 1024, 1) };
  } catch {
    return null;
  }
}

async function main() {
  const bench = await startDataBench('Backup benchmark', {
    benchDir,
    instancesDir,
    portRange: '27600-27699',
    env: {
      COFFER_BACKUP_CHUNK_MB: String(CHUNK_MB),
      COFFER_BACKUP_UPLOAD_CONCURRENCY: String(UPLOAD_CONCURRENCY),
      COFFER_BACKUP_ZSTD_LEVEL: String(ZSTD_LEVEL),
      COFFER_CREATE_TIMEOUT_SECONDS: '1800',
    },
    bareDir,
    dataMb: DATA_MB,
  });
  // 1. The source instance and its data.
  const { prisma, caller, project, untilInstance, deleteInstances, flavor, source } = bench;
  const { socket, myCnf, generatedMiB, datadirBytes } = source;
  await source.admin.end();
  const instanceDir = join(instancesDir, 'instances', source.id);

  const guest = processesMentioning(`--config-dir ${join(instanceDir, 'etc')}`).find(isGuest);
  if (!guest) throw new Error('the guest agent was not found');
  const guestIdle = peakRssMiB(guest.pid);

  // 2. Backups, alternating bare and Coffer.
  const bareFile = join(bareDir, 'full.xb.zst');
  const bareBackupMs: number[] = [];
  const bareBackupBytes: number[] = [];
  const literalBackupMs: number[] = [];
  const literalBackupBytes: number[] = [];
  const cofferBackupMs: number[] = [];
  const cofferBackupBytes: number[] = [];
  const backupIds: string[] = [];
  for (let index = 0; index < RUNS; index++) {
    rmSync(bareFile, { force: true });
    rmSync(join(bareDir, 'target'), { recursive: true, force: true });
    const bareStarted = now();
    runTool(
      `mariadb-backup --defaults-file=${myCnf} --backup --stream=xbstream --user=root --socket=${socket} --target-dir=${join(bareDir, 'target')} 2>/dev/null | zstd -q -3 -T0 > ${bareFile}`,
      [],
      { shell: true },
    );
    bareBackupMs.push(now() - bareStarted);
    bareBackupBytes.push(statSync(bareFile).size);

    const literalFile = join(bareDir, 'literal.xb.zst');
    rmSync(join(bareDir, 'target'), { recursive: true, force: true });
    const literalStarted = now();
    runTool(
      `mariadb-backup --defaults-file=${myCnf} --backup --stream=xbstream --user=root --socket=${socket} --target-dir=${join(bareDir, 'target')} 2>/dev/null | zstd -q > ${literalFile}`,
      [],
      { shell: true },
    );
    literalBackupMs.push(now() - literalStarted);
    literalBackupBytes.push(statSync(literalFile).size);
    rmSync(literalFile, { force: true });

    const feed = await caller.backup.onChange({ projectId: project.id, instanceId: source.id });
    const started = now();
    const backup = await caller.backup.create({
      projectId: project.id,
      instanceId: source.id,
      type: 'FULL',
      name: `bench ${index + 1}`,
    });
    let storedBytes = 0;
    for await (const envelope of feed) {
      const change = changeOf<{
        type: string;
        backup?: {
          id: string;
          status: string;
          sizeBytes: number | null;
          faultMessage: string | null;
        };
      }>(envelope);
      if (change.backup?.id !== backup.id) continue;
      if (change.backup.status === 'FAILED')
        throw new Error(`backup failed: ${change.backup.faultMessage}`);
      if (change.backup.status === 'COMPLETED') break;
    }
    cofferBackupMs.push(now() - started);
    const row = await prisma.backup.findUniqueOrThrow({ where: { id: backup.id } });
    storedBytes = sizeOfTree(join(instancesDir, 'backups', row.location));
    cofferBackupBytes.push(storedBytes);
    backupIds.push(backup.id);
    await untilInstance(source.id, (instance) => instance.status === 'ACTIVE');
  }
  const guestAfter = peakRssMiB(guest.pid);
  // Keep one backup to restore; the others go.
  for (const id of backupIds.slice(1))
    await caller.backup.delete({ projectId: project.id, backupId: id });

  // 3. Restores, alternating bare and Coffer.
  const bareRestoreMs: number[] = [];
  const cofferRestoreMs: number[] = [];
  for (let index = 0; index < RUNS; index++) {
    const target = join(bareDir, `restore-${index}`);
    const datadir = join(target, 'data');
    rmSync(target, { recursive: true, force: true });
    mkdirSync(join(target, 'stream'), { recursive: true });
    spawnSync('chown', ['mysql:mysql', target]);
    const started = now();
    runTool(`zstd -q -d -c ${bareFile} | mbstream -x -C ${join(target, 'stream')}`, [], {
      shell: true,
    });
    runTool('mariadb-backup', ['--prepare', `--target-dir=${join(target, 'stream')}`]);
    runTool('mariadb-backup', [
      '--copy-back',
      `--target-dir=${join(target, 'stream')}`,
      `--datadir=${datadir}`,
    ]);
    runTool('chown', ['-R', 'mysql:mysql', datadir]);
    const server = await startMariadbd({
      dir: target,
      datadir,
      port: 27690 + index,
      user: 'mysql',
      bufferPoolMb: Math.floor(flavor.ramMb / 2),
    });
    bareRestoreMs.push(now() - started);
    await destroyBare(server);

    const restoreStarted = now();
    const restored = await caller.instance.create({
      projectId: project.id,
      name: `bench-restore-${index + 1}`,
      flavorId: flavor.id,
      volumeSizeGb: flavor.defaultVolumeGb,
      restoreFromBackupId: backupIds[0]!,
    });
    await untilInstance(restored.id, (instance) => instance.status === 'ACTIVE');
    cofferRestoreMs.push(now() - restoreStarted);
    // The data is there.
    const restoredAgent = agentConfigOf(instancesDir, restored.id);
    const check = await mysql.createConnection({
      socketPath: join(restoredAgent.datastore.runDir, 'mysqld.sock'),
      user: 'root',
    });
    const [counted] = await check.query('SELECT COUNT(*) AS n FROM bench.orders');
    await check.end();
    if (Number((counted as Array<{ n: number }>)[0]!.n) < 1)
      throw new Error('the restored instance has no rows');
    await deleteInstances([restored.id]);
  }

  await deleteInstances([source.id]);
  const leftovers = await endBench(bench, benchDir);
  rmSync(benchDir, { recursive: true, force: true });

  const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);
  const s = (ms: number) => round(ms / 1000, 2);
  const backupRatio = median(cofferBackupMs) / median(bareBackupMs);
  const sizeRatio = median(cofferBackupBytes) / median(bareBackupBytes);
  const restoreRatio = median(cofferRestoreMs) / median(bareRestoreMs);
  const bound = round((guestIdle?.now ?? 70) + (UPLOAD_CONCURRENCY + 2) * CHUNK_MB + 16, 0);
  printTable(
    `Backup and restore of ${generatedMiB} MiB of table data (datadir ${mb(datadirBytes)} MiB), median of ${RUNS}; flavor ${flavor.name}`,
    ['', 'bare', 'Coffer', 'ratio', 'target'],
    [
      ...timingRows('full backup (s), bare: | zstd -3 -T0', bareBackupMs, cofferBackupMs, '≤ 1.15'),
      [
        'stored size (MiB)',
        mb(median(bareBackupBytes)),
        mb(median(cofferBackupBytes)),
        round(sizeRatio, 3),
        '≤ 1.05',
      ],
      [
        'full backup (s), bare: | zstd (1 thread)',
        s(median(literalBackupMs)),
        s(median(cofferBackupMs)),
        round(median(cofferBackupMs) / median(literalBackupMs)),
        '',
      ],
      [
        '  stored size (MiB)',
        mb(median(literalBackupBytes)),
        mb(median(cofferBackupBytes)),
        round(median(cofferBackupBytes) / median(literalBackupBytes), 3),
        '',
      ],
      ...timingRows('restore to a running server (s)', bareRestoreMs, cofferRestoreMs, '≤ 1.2'),
    ],
  );
  printTable(
    'Guest agent memory',
    ['', 'MiB', 'bound'],
    [
      ['idle RSS before the backups', guestIdle?.now ?? 'n/a', '≤ 80'],
      [
        'peak RSS (VmHWM) after the backups',
        guestAfter?.peak ?? 'n/a',
        `≤ ${bound} (idle + (uploads ${UPLOAD_CONCURRENCY} + 2) × ${CHUNK_MB} MiB chunks + 16)`,
      ],
    ],
  );
  if (leftovers.length)
    console.log(`\nWARNING: processes left behind: ${leftovers.map((p) => p.pid).join(', ')}`);
  console.log(
    JSON.stringify({
      bench: 'backup',
      runs: RUNS,
      flavor: flavor.name,
      dataMiB: generatedMiB,
      datadirMiB: mb(datadirBytes),
      backup: {
        bareMedianMs: Math.round(median(bareBackupMs)),
        cofferMedianMs: Math.round(median(cofferBackupMs)),
        ratio: round(backupRatio),
        target: 1.15,
      },
      backupAgainstSingleThreadedZstd: {
        bareMedianMs: Math.round(median(literalBackupMs)),
        bareBytes: median(literalBackupBytes),
        ratio: round(median(cofferBackupMs) / median(literalBackupMs)),
      },
      size: {
        bareBytes: median(bareBackupBytes),
        cofferBytes: median(cofferBackupBytes),
        ratio: round(sizeRatio, 3),
        target: 1.05,
      },
      restore: {
        bareMedianMs: Math.round(median(bareRestoreMs)),
        cofferMedianMs: Math.round(median(cofferRestoreMs)),
        ratio: round(restoreRatio),
        target: 1.2,
      },
      guestRssMiB: { idle: guestIdle?.now ?? null, peak: guestAfter?.peak ?? null, bound },
      chunkMiB: CHUNK_MB,
      zstdLevel: ZSTD_LEVEL,
      uploadConcurrency: UPLOAD_CONCURRENCY,
      leftovers: leftovers.length,
    }),
  );
}

runBench(main);
