/**
 * Provisioning benchmark (issue: create, watch, restart and delete). Measures, on this machine
 * and in the same run:
 *   - bare: mariadb-install-db + mariadbd start + first successful ping, median of 5; and the
 *     operator's trick Coffer uses too: a copy of a datadir installed ahead of time + start + ping;
 *   - Coffer: the tRPC create call until the instance is ACTIVE (seen on the live
 *     subscription), median of 5, with the real worker and guests;
 *   - 10 at once, both ways: total time until all are up;
 *   - RSS of one idle guest agent and of its mariadbd at the smallest flavor;
 *   - the load average before and after (the machine may be shared).
 * Coffer is measured as it runs: its worker's warm pool of volume images (COFFER_LOCAL_VOLUME_POOL)
 * is full before the first run, as it is a second after any worker starts.
 * Run with `npm run bench:provision` (scripts/coffer.mjs prepares services and a database).
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';

import { parseVolumePoolSpec, VOLUME_POOL_DIR } from '@coffer/compute';

import { isGuest, isMariadbd, processesMentioning } from '@coffer/testing/processes';

import {
  destroyBare,
  makeBareTemplate,
  provisionBare,
  provisionBareFromTemplate,
  type BareServer,
} from './lib/bare-mariadb';
import { endBench, root, runBench, startBench } from './lib/coffer';
import { median, now, printTable, round, rssMiB } from './lib/report';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 10);
const benchDir = process.env.COFFER_BENCH_DIR ?? join(root, '.coffer-bench', 'provision');
const instancesDir = join(benchDir, 'instances');
const bareDir = join(benchDir, 'bare');

async function main() {
  const bench = await startBench('Benchmarks', {
    benchDir,
    instancesDir,
    portRange: '27100-27199',
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
  const bareTemplate = makeBareTemplate(join(bareDir, 'template'));
  for (let run = 0; run < RUNS; run++) {
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

  // 2. Many at once.
  const bareStarted = now();
  const bareServers: BareServer[] = (
    await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) =>
        provisionBare(join(bareDir, `par-${i}`), 27400 + i),
      ),
    )
  ).map((result) => result.server);
  const bareConcurrentMs = now() - bareStarted;
  await Promise.all(bareServers.map((server) => destroyBare(server)));

  const cofferStarted = now();
  const concurrent = await Promise.all(
    Array.from({ length: CONCURRENT }, (_, i) => createUntilActive(`bench-par-${i}`)),
  );
  const cofferConcurrentMs = now() - cofferStarted;

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
  const guest = processesMentioning(`--config-dir ${join(instanceDir, 'etc')}`).find(isGuest);
  const server = processesMentioning(`--defaults-file=${instanceDir}`).find(isMariadbd);
  const guestRss = guest ? rssMiB(guest.pid) : null;
  const serverRss = server ? rssMiB(server.pid) : null;

  const loadAfter = loadavg();
  await deleteInstances(concurrent.map((c) => c.id));
  const leftovers = await endBench(bench, benchDir);
  rmSync(benchDir, { recursive: true, force: true });

  const bareMedian = median(bareMs);
  const bareCopyMedian = median(bareCopyMs);
  const cofferMedian = median(cofferMs);
  const best = (values: number[]) => Math.min(...values);
  printTable(
    `Provisioning: a new, running server (median of ${RUNS}; flavor ${flavor.name}, ${flavor.ramMb} MB); load average ${loadText(loadBefore)} before, ${loadText(loadAfter)} after`,
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
        round(bareMedian / 1000),
        round(bareCopyMedian / 1000),
        round(cofferMedian / 1000),
        round(cofferMedian / bareMedian),
        round(cofferMedian / bareCopyMedian),
      ],
      [
        'best (s)',
        round(best(bareMs) / 1000),
        round(best(bareCopyMs) / 1000),
        round(best(cofferMs) / 1000),
        round(best(cofferMs) / best(bareMs)),
        round(best(cofferMs) / best(bareCopyMs)),
      ],
      [
        'runs (s)',
        bareMs.map((ms) => round(ms / 1000)).join(' '),
        bareCopyMs.map((ms) => round(ms / 1000)).join(' '),
        cofferMs.map((ms) => round(ms / 1000)).join(' '),
        '',
        '',
      ],
      [
        `${CONCURRENT} at once, total (s)`,
        round(bareConcurrentMs / 1000),
        '',
        round(cofferConcurrentMs / 1000),
        round(cofferConcurrentMs / bareConcurrentMs),
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
      ratio: round(cofferMedian / bareMedian),
      target: 1.5,
      bareMs: bareMs.map(Math.round),
      cofferMs: cofferMs.map(Math.round),
      bestRatio: round(best(cofferMs) / best(bareMs)),
      bareCopyMedianMs: Math.round(bareCopyMedian),
      bareCopyMs: bareCopyMs.map(Math.round),
      ratioToCopy: round(cofferMedian / bareCopyMedian),
      bestRatioToCopy: round(best(cofferMs) / best(bareCopyMs)),
      concurrent: {
        count: CONCURRENT,
        bareMs: Math.round(bareConcurrentMs),
        cofferMs: Math.round(cofferConcurrentMs),
        ratio: round(cofferConcurrentMs / bareConcurrentMs),
      },
      guestRssMiB: guestRss,
      mariadbdRssMiB: serverRss,
      leftovers: leftovers.length,
      loadavg: { before: loadBefore, after: loadAfter },
    }),
  );
}

/** Until the worker's warm pool of volume images holds what COFFER_LOCAL_VOLUME_POOL keeps (none: at once). */
async function untilPoolFull(): Promise<void> {
  const spec = parseVolumePoolSpec(process.env.COFFER_LOCAL_VOLUME_POOL);
  const poolDir = join(instancesDir, VOLUME_POOL_DIR);
  const isFull = () => {
    const names = existsSync(poolDir) ? readdirSync(poolDir) : [];
    return [...spec].every(
      ([gb, count]) =>
        names.filter((name) => name.startsWith(`${gb}g-`) && name.endsWith('.img')).length >= count,
    );
  };
  for (const deadline = Date.now() + 120_000; !isFull();) {
    if (Date.now() > deadline)
      throw new Error(`the volume pool in ${poolDir} did not fill in 2 minutes`);
    await new Promise((tick) => setTimeout(tick, 100));
  }
}

function loadText(load: number[]): string {
  return load.map((value) => round(value, 1)).join('/');
}

runBench(main);
