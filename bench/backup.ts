/**
 * Backup and restore benchmark (issue: backups and restore). On one instance holding at
 * least 1 GB of data (generated with INSERT … SELECT doubling), measured in the same run:
 *   - the physical limit: mariadb-backup --backup --stream=xbstream > /dev/null (issue 18
 *     part 4: Coffer's throughput, datadir bytes / time, against it; target within 10 %)
 *   - the limit with compression: the same | zstd -2 -T0 > /dev/null (what is physically
 *     possible on this machine with Coffer's default compression: nothing stored)
 *   - bare backup:   mariadb-backup --backup --stream=xbstream | zstd -2 -T0 > file (the same
 *     level and threads as Coffer's zstd: issue 18 part 2's fair baseline), and the same into
 *     `dd oflag=direct` (Coffer's local store writes its chunks with direct I/O); bare is
 *     whichever of the two has the lower median. Every backup is kept until the end, bare's
 *     as Coffer's (an operator keeps backups: a new file's pages are memory the kernel hands
 *     out fresh, where overwriting one file would reuse the pages it just freed)
 *   - Coffer backup: the tRPC backup.create call until the live subscription says COMPLETED
 *     (stream → zstd → 8 MiB chunks → AES-256-GCM → SHA-256 → local object store, manifest)
 *   order reversed every other round, median of 3 and best against best: time ratios
 *   (against bare ≤ 1.15, against the limit ≤ 1.1) and stored size ratio (≤ 1.05);
 *   - bare restore:   zstd -d | mbstream -x, mariadb-backup --prepare, --copy-back, start, ping,
 *     into a plain directory of the host and into an ext4 loop volume made as the local
 *     provider makes an instance's, direct I/O included (the like-for-like disk; both reported)
 *   - Coffer restore: instance.create with restoreFromBackupId until ACTIVE (fetch and verify
 *     every chunk, unpack, prepare, move back, start), median of 3: time ratio (≤ 1.2);
 *   - peak RSS of the guest agent (VmHWM, reset before each backup) in every run, against its
 *     bound: idle + (uploads + 1) chunk buffers + 16 MiB; the restoring guest's since its
 *     start, against idle + (fetched ahead + 2) chunks + 16 MiB;
 *   - the machine's load average during the run (lib/load.ts).
 * Run with `npm run bench:backup` (scripts/coffer.mjs prepares services and a database).
 * BENCH_DATA_MB (default 1024) sets the data size, BENCH_RUNS (default 3) the runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { isGuest, processesMentioning, readPid } from '@coffer/testing/processes';
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
import { loadText, sampleLoad } from './lib/load';
import { withLoopVolume } from './lib/loop-volume';
import { median, now, printTable, round, timingRows } from './lib/report';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DATA_MB = Number(process.env.BENCH_DATA_MB ?? 1024);
const CHUNK_MB = 8;
const ZSTD_LEVEL = 2;
const UPLOAD_CONCURRENCY = 4;
/** Chunks a restore fetches ahead (apps/guest/src/backup/fetch-chunks.ts PREFETCH). */
const RESTORE_PREFETCH = 4;
/** The two ways bare writes its file: through the page cache, or past it with `dd oflag=direct`. */
type BareWay = 'cached' | 'direct';
const BARE_WAYS: Record<BareWay, { label: string; output: (file: string) => string }> = {
  cached: { label: '> file', output: (file) => `> ${file}` },
  direct: {
    label: '| dd oflag=direct',
    output: (file) => `| dd of=${file} bs=${CHUNK_MB}M iflag=fullblock oflag=direct status=none`,
  },
};
const benchDir = process.env.COFFER_BENCH_DIR ?? join(root, '.coffer-bench', 'backup');
const instancesDir = join(benchDir, 'instances');
const bareDir = join(benchDir, 'bare');

/** Resets a process's peak RSS (VmHWM) to its current RSS (proc(5): clear_refs, 5). */
function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * CPU seconds of a process: its own (user + system) and its waited-for children's (for the
 * guest: the mariadb-backup and zstd it ran; for this process: the shells and their tools).
 */
function cpuSeconds(pid: number | 'self'): { own: number; children: number; minorFaults: number } {
  // Fields after the command's closing parenthesis: minflt is the 8th, utime the 12th, cstime the 15th.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = (index: number) => Number(fields[index]) / 100;
  return {
    own: ticks(11) + ticks(12),
    children: ticks(13) + ticks(14),
    // Pages the process touched for the first time: each costs the kernel (a VM's more).
    minorFaults: Number(fields[7]),
  };
}

/**
 * An instance's guest agent: its pid file's (a guest taken from the provider's warm pool has no
 * `--config-dir` on its command line), else the one started with the instance's config dir.
 */
function guestOf(instanceDir: string): { pid: number } | undefined {
  const pid = readPid(join(instanceDir, 'run', 'guest.pid'));
  if (pid !== null) return { pid };
  return processesMentioning(`--config-dir ${join(instanceDir, 'etc')}`).find(isGuest);
}

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

  const guest = guestOf(instanceDir);
  if (!guest) throw new Error('the guest agent was not found');
  const guestIdle = peakRssMiB(guest.pid);

  const loadSampler = sampleLoad();
  // 2. Backups: the limit, bare and Coffer, the order reversed every other round.
  const bareFile = (way: BareWay, index: number) => join(bareDir, `full-${way}-${index}.xb.zst`);
  const backupCommand = `mariadb-backup --defaults-file=${myCnf} --backup --stream=xbstream --user=root --socket=${socket} --target-dir=${join(bareDir, 'target')} 2>/dev/null`;
  const rawBackupMs: number[] = [];
  const zstdLimitMs: number[] = [];
  const bareWayMs: Record<BareWay, number[]> = { cached: [], direct: [] };
  const bareWayBytes: Record<BareWay, number[]> = { cached: [], direct: [] };
  const cofferBackupMs: number[] = [];
  const cofferBackupBytes: number[] = [];
  const guestPeaks: number[] = [];
  // CPU seconds per backup: the limit's and bare's tools; Coffer's tools and the guest itself.
  const rawCpuS: number[] = [];
  const zstdLimitCpuS: number[] = [];
  const bareWayCpuS: Record<BareWay, number[]> = { cached: [], direct: [] };
  const cofferToolsCpuS: number[] = [];
  const cofferGuestCpuS: number[] = [];
  const cofferGuestFaults: number[] = [];
  const backupIds: string[] = [];
  const canResetPeak = resetPeakRss(guest.pid);
  const raw = () => {
    rmSync(join(bareDir, 'target'), { recursive: true, force: true });
    const cpu = cpuSeconds('self').children;
    const started = now();
    runTool(`${backupCommand} > /dev/null`, [], { shell: true });
    rawBackupMs.push(now() - started);
    rawCpuS.push(cpuSeconds('self').children - cpu);
  };
  const zstdLimit = () => {
    rmSync(join(bareDir, 'target'), { recursive: true, force: true });
    const cpu = cpuSeconds('self').children;
    const started = now();
    runTool(`${backupCommand} | zstd -q -${ZSTD_LEVEL} -T0 > /dev/null`, [], { shell: true });
    zstdLimitMs.push(now() - started);
    zstdLimitCpuS.push(cpuSeconds('self').children - cpu);
  };
  const bare = (way: BareWay, index: number) => {
    const file = bareFile(way, index);
    rmSync(join(bareDir, 'target'), { recursive: true, force: true });
    const cpu = cpuSeconds('self').children;
    const started = now();
    runTool(`${backupCommand} | zstd -q -${ZSTD_LEVEL} -T0 ${BARE_WAYS[way].output(file)}`, [], {
      shell: true,
    });
    bareWayMs[way].push(now() - started);
    bareWayCpuS[way].push(cpuSeconds('self').children - cpu);
    bareWayBytes[way].push(statSync(file).size);
  };
  const coffer = async (index: number) => {
    resetPeakRss(guest.pid);
    const feed = await caller.backup.onChange({ projectId: project.id, instanceId: source.id });
    const guestCpu = cpuSeconds(guest.pid);
    const started = now();
    const backup = await caller.backup.create({
      projectId: project.id,
      instanceId: source.id,
      type: 'FULL',
      name: `bench ${index + 1}`,
    });
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
    const guestCpuAfter = cpuSeconds(guest.pid);
    cofferToolsCpuS.push(guestCpuAfter.children - guestCpu.children);
    cofferGuestCpuS.push(guestCpuAfter.own - guestCpu.own);
    cofferGuestFaults.push(guestCpuAfter.minorFaults - guestCpu.minorFaults);
    guestPeaks.push(peakRssMiB(guest.pid)?.peak ?? Number.NaN);
    const row = await prisma.backup.findUniqueOrThrow({ where: { id: backup.id } });
    cofferBackupBytes.push(sizeOfTree(join(instancesDir, 'backups', row.location)));
    backupIds.push(backup.id);
    await untilInstance(source.id, (instance) => instance.status === 'ACTIVE');
  };
  for (let index = 0; index < RUNS; index++) {
    if (index % 2 === 0) {
      raw();
      zstdLimit();
      bare('cached', index);
      bare('direct', index);
      await coffer(index);
    } else {
      await coffer(index);
      bare('direct', index);
      bare('cached', index);
      zstdLimit();
      raw();
    }
  }
  // Bare is the faster way; the other is reported beside it.
  const bareWay: BareWay =
    median(bareWayMs.direct) < median(bareWayMs.cached) ? 'direct' : 'cached';
  const otherWay: BareWay = bareWay === 'direct' ? 'cached' : 'direct';
  const bareBackupMs = bareWayMs[bareWay];
  const bareCpuS = bareWayCpuS[bareWay];
  const bareBackupBytes = bareWayBytes.cached;
  // The guest's RSS once the backups are over (it lifts --optimize-for-size only while one runs).
  const guestAfter = peakRssMiB(guest.pid);
  // Keep one backup to restore; the others go.
  for (const id of backupIds.slice(1))
    await caller.backup.delete({ projectId: project.id, backupId: id });

  // 3. Restores, alternating bare (into a plain directory of the host's filesystem, and into
  // an ext4 loop volume made as the local provider makes an instance's) and Coffer.
  const bareRestoreMs: number[] = [];
  const bareLoopRestoreMs: number[] = [];
  const cofferRestoreMs: number[] = [];
  const restoreGuestPeaks: number[] = [];
  const bareRestore = async (target: string, port: number): Promise<number> => {
    const datadir = join(target, 'data');
    mkdirSync(join(target, 'stream'), { recursive: true });
    spawnSync('chown', ['mysql:mysql', target]);
    const started = now();
    runTool(
      `zstd -q -d -c ${bareFile('cached', 0)} | mbstream -x -C ${join(target, 'stream')}`,
      [],
      {
        shell: true,
      },
    );
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
      port,
      user: 'mysql',
      bufferPoolMb: Math.floor(flavor.ramMb / 2),
    });
    const ms = now() - started;
    await destroyBare(server);
    return ms;
  };
  for (let index = 0; index < RUNS; index++) {
    const target = join(bareDir, `restore-${index}`);
    rmSync(target, { recursive: true, force: true });
    bareRestoreMs.push(await bareRestore(target, 27690 + index));
    rmSync(target, { recursive: true, force: true });

    // The same onto a loop volume made as an instance's (direct I/O, as Coffer's volumes are).
    bareLoopRestoreMs.push(
      await withLoopVolume(bareDir, `loop-${index}`, flavor.defaultVolumeGb, (mountPoint) =>
        bareRestore(join(mountPoint, 'restore'), 27680 + index),
      ),
    );

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
    // The restoring guest's peak RSS, from its start through the restore (never reset).
    const restoredGuest = guestOf(join(instancesDir, 'instances', restored.id));
    restoreGuestPeaks.push((restoredGuest && peakRssMiB(restoredGuest.pid)?.peak) ?? Number.NaN);
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

  const load = loadSampler.stop();
  await deleteInstances([source.id]);
  const leftovers = await endBench(bench, benchDir);
  rmSync(benchDir, { recursive: true, force: true });

  const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);
  const best = (values: number[]) => Math.min(...values);
  const ratios = (coffer: number[], other: number[]) => ({
    ratio: round(median(coffer) / median(other)),
    bestRatio: round(best(coffer) / best(other)),
  });
  const mibPerS = (ms: number) => round(datadirBytes / 1024 / 1024 / (ms / 1000), 0);
  const againstBare = ratios(cofferBackupMs, bareBackupMs);
  const againstRaw = ratios(cofferBackupMs, rawBackupMs);
  const againstZstdLimit = ratios(cofferBackupMs, zstdLimitMs);
  const restore = ratios(cofferRestoreMs, bareRestoreMs);
  const restoreLoop = ratios(cofferRestoreMs, bareLoopRestoreMs);
  const sizeRatio = median(cofferBackupBytes) / median(bareBackupBytes);
  // What a backup holds on top of the idle guest: its chunk buffers (the uploads' and the one
  // being filled) and 16 MiB for the pipes, the pieces being encrypted and the reports.
  const bound = round((guestIdle?.now ?? 70) + (UPLOAD_CONCURRENCY + 1) * CHUNK_MB + 16, 0);
  const peak = Math.max(...guestPeaks);
  // A restore holds the chunks fetched ahead, the one being checked and the one being written.
  const restoreBound = round((guestIdle?.now ?? 70) + (RESTORE_PREFETCH + 2) * CHUNK_MB + 16, 0);
  const restorePeak = Math.max(...restoreGuestPeaks);
  printTable(
    `Backup and restore of ${generatedMiB} MiB of table data (datadir ${mb(datadirBytes)} MiB), median of ${RUNS} (best against best in brackets); flavor ${flavor.name}; ${loadText(load)}`,
    ['', 'limit', 'limit + zstd', 'bare', 'Coffer', 'ratio', 'target'],
    [
      [
        `full backup (s): limit \`> /dev/null\`, limit + zstd \`| zstd -2 -T0 > /dev/null\`, bare \`| zstd -2 -T0 ${BARE_WAYS[bareWay].label}\``,
        round(median(rawBackupMs) / 1000, 2),
        round(median(zstdLimitMs) / 1000, 2),
        round(median(bareBackupMs) / 1000, 2),
        round(median(cofferBackupMs) / 1000, 2),
        `${againstBare.ratio} (${againstBare.bestRatio})`,
        '≤ 1.15 against bare',
      ],
      [
        '  runs (s)',
        rawBackupMs.map((ms) => round(ms / 1000, 2)).join(' '),
        zstdLimitMs.map((ms) => round(ms / 1000, 2)).join(' '),
        bareBackupMs.map((ms) => round(ms / 1000, 2)).join(' '),
        cofferBackupMs.map((ms) => round(ms / 1000, 2)).join(' '),
        '',
        '',
      ],
      [
        `  bare the other way (\`${BARE_WAYS[otherWay].label}\`): median, runs`,
        '',
        '',
        `${round(median(bareWayMs[otherWay]) / 1000, 2)} (${bareWayMs[otherWay].map((ms) => round(ms / 1000, 2)).join(' ')})`,
        '',
        `${ratios(cofferBackupMs, bareWayMs[otherWay]).ratio} (${ratios(cofferBackupMs, bareWayMs[otherWay]).bestRatio})`,
        '',
      ],
      [
        '  throughput (MiB/s of datadir), Coffer against the limit',
        mibPerS(median(rawBackupMs)),
        mibPerS(median(zstdLimitMs)),
        mibPerS(median(bareBackupMs)),
        mibPerS(median(cofferBackupMs)),
        `${againstRaw.ratio} (${againstRaw.bestRatio})`,
        '≤ 1.1 against the limit',
      ],
      [
        '  Coffer against the limit with compression (zstd, nothing stored)',
        '',
        '',
        '',
        '',
        `${againstZstdLimit.ratio} (${againstZstdLimit.bestRatio})`,
        '',
      ],
      [
        'stored size (MiB)',
        '',
        '',
        mb(median(bareBackupBytes)),
        mb(median(cofferBackupBytes)),
        round(sizeRatio, 3),
        '≤ 1.05',
      ],
      ...timingRows('restore to a running server (s)', bareRestoreMs, cofferRestoreMs, '≤ 1.2').map(
        ([label, bareCell, cofferCell, ratio, target], index) => [
          label!,
          '',
          '',
          bareCell!,
          cofferCell!,
          index === 0 ? `${restore.ratio} (${restore.bestRatio})` : ratio!,
          target!,
        ],
      ),
      [
        "  bare onto a loop volume (ext4 on a loop device, as an instance's): median, runs",
        '',
        '',
        `${round(median(bareLoopRestoreMs) / 1000, 2)} (${bareLoopRestoreMs.map((ms) => round(ms / 1000, 2)).join(' ')})`,
        '',
        `${restoreLoop.ratio} (${restoreLoop.bestRatio})`,
        '≤ 1.2',
      ],
    ],
  );
  const cpuMedian = (values: number[]) => round(median(values), 2);
  printTable(
    'Where the time goes: CPU seconds per backup (median), against the wall time on this machine',
    ['', 'tools CPU s', 'guest CPU s', 'guest page faults', 'wall s'],
    [
      [
        'limit: mariadb-backup > /dev/null',
        cpuMedian(rawCpuS),
        '',
        '',
        round(median(rawBackupMs) / 1000, 2),
      ],
      [
        `limit + zstd: mariadb-backup | zstd -${ZSTD_LEVEL} -T0 > /dev/null`,
        cpuMedian(zstdLimitCpuS),
        '',
        '',
        round(median(zstdLimitMs) / 1000, 2),
      ],
      ...(['cached', 'direct'] as const).map((way) => [
        `bare: mariadb-backup | zstd -${ZSTD_LEVEL} -T0 ${BARE_WAYS[way].label}`,
        cpuMedian(bareWayCpuS[way]),
        '',
        '',
        round(median(bareWayMs[way]) / 1000, 2),
      ]),
      [
        'Coffer: mariadb-backup | zstd, then the guest (chunks, AES-256-GCM, SHA-256, store)',
        cpuMedian(cofferToolsCpuS),
        cpuMedian(cofferGuestCpuS),
        median(cofferGuestFaults),
        round(median(cofferBackupMs) / 1000, 2),
      ],
    ],
  );
  printTable(
    'Guest agent memory',
    ['', 'MiB', 'bound'],
    [
      ['idle RSS before the backups', guestIdle?.now ?? 'n/a', '≤ 80'],
      ['RSS after the backups', guestAfter?.now ?? 'n/a', ''],
      [
        `peak RSS (VmHWM) in each backup${canResetPeak ? '' : ' (not reset: since the start)'}`,
        guestPeaks.join(' '),
        `≤ ${bound} (idle + (uploads ${UPLOAD_CONCURRENCY} + 1) × ${CHUNK_MB} MiB chunks + 16)`,
      ],
      [
        `peak RSS (VmHWM) of each restoring guest, from its start`,
        restoreGuestPeaks.join(' '),
        `≤ ${restoreBound} (idle + (fetched ahead ${RESTORE_PREFETCH} + 2) × ${CHUNK_MB} MiB chunks + 16)`,
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
      load,
      limit: {
        medianMs: Math.round(median(rawBackupMs)),
        bestMs: Math.round(best(rawBackupMs)),
        mibPerS: mibPerS(median(rawBackupMs)),
      },
      backup: {
        bareWay,
        bareMedianMs: Math.round(median(bareBackupMs)),
        bareBestMs: Math.round(best(bareBackupMs)),
        bareOtherWayMedianMs: Math.round(median(bareWayMs[otherWay])),
        cofferMedianMs: Math.round(median(cofferBackupMs)),
        cofferBestMs: Math.round(best(cofferBackupMs)),
        cofferMibPerS: mibPerS(median(cofferBackupMs)),
        ...againstBare,
        target: 1.15,
      },
      backupAgainstLimit: { ...againstRaw, target: 1.1 },
      limitWithZstd: {
        medianMs: Math.round(median(zstdLimitMs)),
        bestMs: Math.round(best(zstdLimitMs)),
        mibPerS: mibPerS(median(zstdLimitMs)),
      },
      backupAgainstLimitWithZstd: againstZstdLimit,
      cpuSeconds: {
        limit: cpuMedian(rawCpuS),
        limitWithZstd: cpuMedian(zstdLimitCpuS),
        bare: cpuMedian(bareCpuS),
        bareOtherWay: cpuMedian(bareWayCpuS[otherWay]),
        cofferTools: cpuMedian(cofferToolsCpuS),
        cofferGuest: cpuMedian(cofferGuestCpuS),
      },
      guestMinorFaults: cofferGuestFaults,
      size: {
        bareBytes: median(bareBackupBytes),
        cofferBytes: median(cofferBackupBytes),
        ratio: round(sizeRatio, 3),
        target: 1.05,
      },
      restore: {
        bareMedianMs: Math.round(median(bareRestoreMs)),
        cofferMedianMs: Math.round(median(cofferRestoreMs)),
        ...restore,
        target: 1.2,
        bareLoopMedianMs: Math.round(median(bareLoopRestoreMs)),
        againstBareLoop: restoreLoop,
      },
      guestRssMiB: {
        idle: guestIdle?.now ?? null,
        afterBackups: guestAfter?.now ?? null,
        peaks: guestPeaks,
        peak,
        bound,
        withinBound: peak <= bound,
        restorePeaks: restoreGuestPeaks,
        restoreBound,
        restoreWithinBound: restorePeak <= restoreBound,
      },
      chunkMiB: CHUNK_MB,
      zstdLevel: ZSTD_LEVEL,
      uploadConcurrency: UPLOAD_CONCURRENCY,
      leftovers: leftovers.length,
    }),
  );
}

runBench(main);
