/**
 * Provisioning benchmark (issue: create, watch, restart and delete; issue 18: fair baselines,
 * sub-second creates). Measures, on this machine and in the same run:
 *   - bare: mariadb-install-db (on one CPU, as Coffer's guest runs it) + mariadbd start + first
 *     successful ping, median of 5; and the operator's trick Coffer uses too: a copy of a
 *     datadir installed and settled ahead of time (with the smallest redo log, as Coffer's
 *     template) + start + ping;
 *   - Coffer: the tRPC create call until the instance is ACTIVE (seen on the live
 *     subscription), median of 5, with the real worker and guests;
 *   - BENCH_CONCURRENT (10) at once, all three ways: total time until all are up, and each
 *     one's own time (median);
 *   - RSS of one idle guest agent and of its mariadbd at the smallest flavor;
 *   - the machine's load average through the run (lib/load.ts: the machine may be shared).
 * Coffer's datadir template is made by one uncounted create first (the bare template is made
 * ahead too). Coffer is measured as it runs: its worker's warm pools of volume images and of
 * standby guests are full before each run (as they are seconds after any worker starts and
 * after each burst), sized for the concurrent round (COFFER_LOCAL_VOLUME_POOL
 * 1:<max(8, BENCH_CONCURRENT)>, COFFER_LOCAL_GUEST_POOL <max(2, BENCH_CONCURRENT)>, unless
 * set; nothing refills while the bare side runs), and its taskmanager
 * runs as many jobs at once as the round has creates (COFFER_TASKMANAGER_CONCURRENCY, unless
 * set): what an operator expecting such bursts would configure. The project's quotas are lifted.
 * Run with `npm run bench:provision` (scripts/coffer.mjs prepares services and a database).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';

import {
  GUEST_POOL_DIR,
  parseGuestPoolSize,
  parseVolumePoolSpec,
  VOLUME_POOL_DIR,
} from '@coffer/compute';

import { isAlive, isMariadbd, processesMentioning, readPid } from '@coffer/testing/processes';

import {
  destroyBare,
  makeBareTemplate,
  provisionBare,
  provisionBareFromTemplate,
} from './lib/bare-mariadb';
import { endBench, root, runBench, startBench } from './lib/coffer';
import { loadText, sampleLoad } from './lib/load';
import { median, now, printTable, round, rssMiB } from './lib/report';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 10);
const benchDir = process.env.COFFER_BENCH_DIR ?? join(root, '.coffer-bench', 'provision');
const instancesDir = join(benchDir, 'instances');
// The worker's pools (its environment below; untilPoolFull waits for them).
const VOLUME_POOL =
  process.env.COFFER_LOCAL_VOLUME_POOL ?? `1:${Math.max(8, CONCURRENT)},2:2,5:2,10:2`;
const GUEST_POOL = process.env.COFFER_LOCAL_GUEST_POOL ?? String(Math.max(2, CONCURRENT));
const bareDir = join(benchDir, 'bare');

async function main() {
  const load = sampleLoad();
  const bench = await startBench('Benchmarks', {
    benchDir,
    instancesDir,
    portRange: '27100-27199',
    isUnlimited: true,
    env: {
      COFFER_LOCAL_VOLUME_POOL: VOLUME_POOL,
      COFFER_LOCAL_GUEST_POOL: GUEST_POOL,
      COFFER_TASKMANAGER_CONCURRENCY:
        process.env.COFFER_TASKMANAGER_CONCURRENCY ?? String(Math.max(8, CONCURRENT)),
    },
  });
  const { prisma, caller, project, untilInstance, deleteInstances } = bench;
  const flavor = (await caller.catalog.flavors())[0]!;
  // The worker's data dir, as a running worker has one (its pool fills once it exists).
  mkdirSync(instancesDir, { recursive: true });
  await untilPoolFull();
  const loadBefore = loadavg();

  /** Creates one instance through the API; resolves with the time from the call until ACTIVE. */
  async function createUntilActive(name: string): Promise<{ id: string; ms: number }> {
    const started = now();
    const created = await caller.instance.create({
      projectId: project.id,
      name,
      flavorId: flavor.id,
      volumeSizeGb: 1,
      databases: [{ name: 'app' }],
      users: [{ name: 'app_user', host: '%', password: 'Bench-passw0rd-1', databases: ['app'] }],
    });
    await untilInstance(created.id, (instance) => instance.status === 'ACTIVE');
    return { id: created.id, ms: now() - started };
  }

  // 1. Sequential, alternating bare and Coffer so both see the same machine state.
  const bareMs: number[] = [];
  const bareCopyMs: number[] = [];
  const cofferMs: number[] = [];
  const bareTemplate = await makeBareTemplate(join(bareDir, 'template'));
  // Coffer's own template is made by its first create ever: one uncounted create makes it here,
  // as the bare template above is made ahead and not counted.
  const warmUp = await createUntilActive('bench-warm-up');
  await deleteInstances([warmUp.id]);
  await untilPoolFull();
  for (let run = 0; run < RUNS; run++) {
    await untilPoolFull();
    const bare = await provisionBare(join(bareDir, `seq-${run}`), 27300 + run);
    bareMs.push(bare.ms);
    await destroyBare(bare.server);
    const copy = await provisionBareFromTemplate(
      join(bareDir, `copy-${run}`),
      27350 + run,
      bareTemplate,
    );
    bareCopyMs.push(copy.ms);
    await destroyBare(copy.server);
    const coffer = await createUntilActive(`bench-seq-${run}`);
    cofferMs.push(coffer.ms);
    await deleteInstances([coffer.id]);
  }

  // 2. Many at once: each side's total until all are up, and each one's own time.
  const memBefore = usedMiB();
  async function allAtOnce<T extends { ms: number }>(
    start: (i: number) => Promise<T>,
  ): Promise<{ totalMs: number; each: number[]; results: T[] }> {
    const started = now();
    const results = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => start(i)));
    return { totalMs: now() - started, each: results.map((r) => r.ms), results };
  }
  await untilPoolFull();
  const bareAll = await allAtOnce((i) => provisionBare(join(bareDir, `par-${i}`), 27400 + i));
  await Promise.all(bareAll.results.map((result) => destroyBare(result.server)));
  const bareCopyAll = await allAtOnce((i) =>
    provisionBareFromTemplate(join(bareDir, `par-copy-${i}`), 27500 + i, bareTemplate),
  );
  const bareCopyMemMiB = usedMiB() - memBefore;
  await Promise.all(bareCopyAll.results.map((result) => destroyBare(result.server)));
  await untilPoolFull();
  trace('coffer-at-once-start');
  const cofferAll = await allAtOnce((i) => createUntilActive(`bench-par-${i}`));
  trace('coffer-at-once-end');
  const cofferMemMiB = usedMiB() - memBefore;
  const concurrent = cofferAll.results;

  // 3. Idle footprint of one instance, after a few heartbeats.
  const sample = concurrent[0]!;
  const before = (await prisma.instance.findUniqueOrThrow({ where: { id: sample.id } }))
    .lastHeartbeatAt;
  for (;;) {
    const row = await prisma.instance.findUniqueOrThrow({ where: { id: sample.id } });
    if (row.lastHeartbeatAt && before && row.lastHeartbeatAt.getTime() - before.getTime() >= 6_000)
      break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const instanceDir = join(instancesDir, 'instances', sample.id);
  // Its guest by its pid file (one from the pool names no instance on its command line).
  const guestPid = readPid(join(instanceDir, 'run', 'guest.pid'));
  const server = processesMentioning(`--defaults-file=${instanceDir}`).find(isMariadbd);
  const guestRss = guestPid !== null && isAlive(guestPid) ? rssMiB(guestPid) : null;
  const serverRss = server ? rssMiB(server.pid) : null;

  const loadAfter = loadavg();
  const loadReport = load.stop();
  await deleteInstances(concurrent.map((c) => c.id));
  const leftovers = await endBench(bench, benchDir);
  rmSync(benchDir, { recursive: true, force: true });

  const bareMedian = median(bareMs);
  const bareCopyMedian = median(bareCopyMs);
  const cofferMedian = median(cofferMs);
  const best = (values: number[]) => Math.min(...values);
  const ratio = (a: number, b: number) => round(a / b);
  const secs = (ms: number) => round(ms / 1000);
  printTable(
    `Provisioning: a new, running server (median of ${RUNS}; flavor ${flavor.name}, ${flavor.ramMb} MB); ${loadText(loadReport)}`,
    [
      '',
      'bare install-db + start + ping',
      'bare copy of a template + start + ping',
      'Coffer create → ACTIVE',
      'ratio to install-db',
      'ratio to copy',
    ],
    [
      [
        'median (s)',
        secs(bareMedian),
        secs(bareCopyMedian),
        secs(cofferMedian),
        ratio(cofferMedian, bareMedian),
        ratio(cofferMedian, bareCopyMedian),
      ],
      [
        'best (s)',
        secs(best(bareMs)),
        secs(best(bareCopyMs)),
        secs(best(cofferMs)),
        ratio(best(cofferMs), best(bareMs)),
        ratio(best(cofferMs), best(bareCopyMs)),
      ],
      [
        'runs (s)',
        bareMs.map(secs).join(' '),
        bareCopyMs.map(secs).join(' '),
        cofferMs.map(secs).join(' '),
        '',
        '',
      ],
      [
        `${CONCURRENT} at once, all up (s)`,
        secs(bareAll.totalMs),
        secs(bareCopyAll.totalMs),
        secs(cofferAll.totalMs),
        ratio(cofferAll.totalMs, bareAll.totalMs),
        ratio(cofferAll.totalMs, bareCopyAll.totalMs),
      ],
      [
        `${CONCURRENT} at once, each: median (s)`,
        secs(median(bareAll.each)),
        secs(median(bareCopyAll.each)),
        secs(median(cofferAll.each)),
        '',
        '',
      ],
      [
        `${CONCURRENT} at once, memory used (MiB)`,
        '',
        Math.round(bareCopyMemMiB),
        Math.round(cofferMemMiB),
        '',
        '',
      ],
    ],
  );
  printTable(
    'Idle footprint of one instance',
    ['process', 'RSS (MiB)', 'target'],
    [
      ['guest agent', guestRss ?? 'n/a', '≤ 80'],
      [`mariadbd (${flavor.name})`, serverRss ?? 'n/a', ''],
    ],
  );
  if (leftovers.length)
    console.log(`\nWARNING: processes left behind: ${leftovers.map((p) => p.pid).join(', ')}`);
  console.log(
    JSON.stringify({
      bench: 'provision',
      runs: RUNS,
      flavor: flavor.name,
      bareMedianMs: Math.round(bareMedian),
      cofferMedianMs: Math.round(cofferMedian),
      ratio: ratio(cofferMedian, bareMedian),
      target: 1.5,
      cofferTargetMedianMs: 600,
      bareMs: bareMs.map(Math.round),
      cofferMs: cofferMs.map(Math.round),
      bestRatio: ratio(best(cofferMs), best(bareMs)),
      bareCopyMedianMs: Math.round(bareCopyMedian),
      bareCopyMs: bareCopyMs.map(Math.round),
      ratioToCopy: ratio(cofferMedian, bareCopyMedian),
      bestRatioToCopy: ratio(best(cofferMs), best(bareCopyMs)),
      concurrent: {
        count: CONCURRENT,
        bareMs: Math.round(bareAll.totalMs),
        bareCopyMs: Math.round(bareCopyAll.totalMs),
        cofferMs: Math.round(cofferAll.totalMs),
        ratio: ratio(cofferAll.totalMs, bareAll.totalMs),
        ratioToCopy: ratio(cofferAll.totalMs, bareCopyAll.totalMs),
        cofferTargetMs: 15_000,
        eachMedianMs: {
          bare: Math.round(median(bareAll.each)),
          bareCopy: Math.round(median(bareCopyAll.each)),
          coffer: Math.round(median(cofferAll.each)),
        },
        memoryUsedMiB: { bareCopy: Math.round(bareCopyMemMiB), coffer: Math.round(cofferMemMiB) },
      },
      memory: { guestRssMiB: guestRss, mariadbdRssMiB: serverRss },
      guestRssMiB: guestRss,
      mariadbdRssMiB: serverRss,
      leftovers: leftovers.length,
      load: loadReport,
      loadavg: { before: loadBefore, after: loadAfter },
    }),
  );
}

/** With BENCH_TRACE set: when a phase begins or ends (epoch seconds, on stderr), to line up with a CPU sampler. */
function trace(phase: string): void {
  if (process.env.BENCH_TRACE) process.stderr.write(`bench-trace ${phase} ${Date.now() / 1000}\n`);
}

/** The machine's memory in use (MiB): MemTotal less MemAvailable (/proc/meminfo). */
function usedMiB(): number {
  const info = readFileSync('/proc/meminfo', 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(info)?.[1]);
  return (kib('MemTotal') - kib('MemAvailable')) / 1024;
}

/**
 * Until the worker's warm pools hold what COFFER_LOCAL_VOLUME_POOL and COFFER_LOCAL_GUEST_POOL
 * keep: the volume images, and the standby guests that said they are ready (none: at once).
 */
async function untilPoolFull(): Promise<void> {
  const spec = parseVolumePoolSpec(VOLUME_POOL);
  const poolDir = join(instancesDir, VOLUME_POOL_DIR);
  const guests = parseGuestPoolSize(GUEST_POOL);
  const guestPoolDir = join(instancesDir, GUEST_POOL_DIR);
  const namesIn = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  const isFull = () => {
    const names = namesIn(poolDir);
    return (
      [...spec].every(
        ([gb, count]) =>
          names.filter((name) => name.startsWith(`${gb}g-`) && name.endsWith('.img')).length >=
          count,
      ) && namesIn(guestPoolDir).filter((name) => name.endsWith('.ready.log')).length >= guests
    );
  };
  // Made one at a time at nice 19: 50 images on a busy machine take minutes.
  for (const deadline = Date.now() + 600_000; !isFull();) {
    if (Date.now() > deadline)
      throw new Error(`the warm pools in ${instancesDir} did not fill in 10 minutes`);
    await new Promise((tick) => setTimeout(tick, 100));
  }
}

runBench(main);
