/**
 * Provisioning benchmark (issue: create, watch, restart and delete). Measures, on this machine
 * and in the same run:
 *   - bare: mariadb-install-db + mariadbd start + first successful ping, median of 5;
 *   - Coffer: the tRPC create call until the instance is ACTIVE (seen on the live
 *     subscription), median of 5, with the real worker and guests;
 *   - 10 at once, both ways: total time until all are up;
 *   - RSS of one idle guest agent and of its mariadbd at the smallest flavor.
 * Run with `npm run bench:provision` (scripts/coffer.mjs prepares services and a database).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { createPrismaClient } from '@coffer/db';
import { createProject, createUserWithPassword } from '@coffer/db/factories';

import { destroyBare, provisionBare, type BareServer } from './lib/bare-mariadb';
import { findProcesses, median, now, printTable, round, rssMiB } from './lib/report';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 10);
const root = resolve(import.meta.dirname, '..');
const benchDir = process.env.COFFER_BENCH_DIR ?? join(root, '.coffer-bench', 'provision');
const instancesDir = join(benchDir, 'instances');
const bareDir = join(benchDir, 'bare');

async function startWorkerProcess(): Promise<ChildProcess> {
  const worker = spawn(process.execPath, ['--import', 'tsx', join(root, 'apps/worker/src/main.ts')], {
    cwd: root,
    env: { ...process.env, COFFER_DATA_DIR: instancesDir, COFFER_INSTANCE_PORT_RANGE: '27100-27199', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolveStarted, rejectStarted) => {
    let buffer = '';
    worker.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      if (buffer.includes('"worker started"')) resolveStarted();
    });
    worker.once('exit', (code) => rejectStarted(new Error(`worker exited with ${code}`)));
  });
  worker.stdout!.resume();
  return worker;
}

async function main() {
  rmSync(benchDir, { recursive: true, force: true });
  // The worker's "worker started" line (info level) says it is ready; its logs are then drained.
  const worker = await startWorkerProcess();
  process.env.LOG_LEVEL = 'silent';

  const prisma = createPrismaClient({ url: process.env.DATABASE_URL! });
  const { createCaller } = await import('../apps/web/src/server/api/root');
  const { createTRPCContext } = await import('../apps/web/src/server/api/trpc');
  const user = await createUserWithPassword(prisma, { email: `bench-${Date.now()}@example.com`, name: 'Bench', password: 'bench-password-123' });
  const project = await createProject(prisma, { name: 'Benchmarks', ownerUserId: user.id });
  const caller = createCaller(() =>
    createTRPCContext({ headers: new Headers() }, { db: prisma, getUser: async () => ({ id: user.id, email: user.email, name: user.name }) }),
  );
  const flavor = (await caller.catalog.flavors())[0]!;

  /** Creates one instance through the API; resolves with the time from the call until ACTIVE. */
  async function createUntilActive(name: string): Promise<{ id: string; ms: number }> {
    const feed = await caller.instance.onChange({ projectId: project.id });
    const started = now();
    const created = await caller.instance.create({
      projectId: project.id,
      name,
      flavorId: flavor.id,
      volumeSizeGb: 1,
      databases: [{ name: 'app' }],
      users: [{ name: 'app_user', host: '%', password: 'Bench-passw0rd-1', databases: ['app'] }],
    });
    for await (const envelope of feed) {
      const change = (Array.isArray(envelope) ? envelope[1] : envelope) as { type: string; instance?: { id: string; status: string; faultMessage: string | null } };
      if (change.type !== 'changed' || change.instance?.id !== created.id) continue;
      if (change.instance.status === 'ACTIVE') {
        const ms = now() - started;
        return { id: created.id, ms };
      }
      if (change.instance.status === 'ERROR') throw new Error(`${name} failed: ${change.instance.faultMessage}`);
    }
    throw new Error(`${name}: the live feed ended before ACTIVE`);
  }

  async function deleteAll(ids: string[]) {
    const feed = await caller.instance.onChange({ projectId: project.id });
    const pending = new Set(ids);
    for (const id of ids) await caller.instance.delete({ projectId: project.id, instanceId: id });
    for await (const envelope of feed) {
      const change = (Array.isArray(envelope) ? envelope[1] : envelope) as { type: string; instanceId?: string };
      if (change.type === 'deleted' && change.instanceId) pending.delete(change.instanceId);
      if (pending.size === 0) break;
    }
  }

  // 1. Sequential, alternating bare and Coffer so both see the same machine state.
  const bareMs: number[] = [];
  const cofferMs: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const bare = await provisionBare(join(bareDir, `seq-${run}`), 27300 + run);
    bareMs.push(bare.ms);
    await destroyBare(bare.server);
    const coffer = await createUntilActive(`bench-seq-${run}`);
    cofferMs.push(coffer.ms);
    await deleteAll([coffer.id]);
  }

  // 2. Many at once.
  const bareStarted = now();
  const bareServers: BareServer[] = (
    await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => provisionBare(join(bareDir, `par-${i}`), 27400 + i)))
  ).map((result) => result.server);
  const bareConcurrentMs = now() - bareStarted;
  await Promise.all(bareServers.map((server) => destroyBare(server)));

  const cofferStarted = now();
  const concurrent = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => createUntilActive(`bench-par-${i}`)));
  const cofferConcurrentMs = now() - cofferStarted;

  // 3. Idle footprint of one instance, after a few heartbeats.
  const sample = concurrent[0]!;
  const before = (await prisma.instance.findUniqueOrThrow({ where: { id: sample.id } })).lastHeartbeatAt;
  for (;;) {
    const row = await prisma.instance.findUniqueOrThrow({ where: { id: sample.id } });
    if (row.lastHeartbeatAt && before && row.lastHeartbeatAt.getTime() - before.getTime() >= 6_000) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const instanceDir = join(instancesDir, 'instances', sample.id);
  const guest = (await findProcesses(`--config-dir ${join(instanceDir, 'etc')}`))[0];
  const server = (await findProcesses(`--defaults-file=${instanceDir}`)).find((p) => p.cmdline.includes('mariadbd'));
  const guestRss = guest ? await rssMiB(guest.pid) : null;
  const serverRss = server ? await rssMiB(server.pid) : null;

  await deleteAll(concurrent.map((c) => c.id));
  worker.kill('SIGTERM');
  await new Promise((done) => worker.once('exit', done));
  await prisma.$disconnect();
  const leftovers = await findProcesses(benchDir);
  rmSync(benchDir, { recursive: true, force: true });

  const bareMedian = median(bareMs);
  const cofferMedian = median(cofferMs);
  printTable(
    `Provisioning: a new, running server (median of ${RUNS}; flavor ${flavor.name}, ${flavor.ramMb} MB)`,
    ['', 'bare install-db + start + ping', 'Coffer create → ACTIVE', 'ratio'],
    [
      ['median (s)', round(bareMedian / 1000), round(cofferMedian / 1000), round(cofferMedian / bareMedian)],
      ['runs (s)', bareMs.map((ms) => round(ms / 1000)).join(' '), cofferMs.map((ms) => round(ms / 1000)).join(' '), ''],
      [`${CONCURRENT} at once, total (s)`, round(bareConcurrentMs / 1000), round(cofferConcurrentMs / 1000), round(cofferConcurrentMs / bareConcurrentMs)],
    ],
  );
  printTable('Idle footprint of one instance', ['process', 'RSS (MiB)', 'target'], [
    ['guest agent', guestRss ?? 'n/a', '≤ 80'],
    [`mariadbd (${flavor.name})`, serverRss ?? 'n/a', ''],
  ]);
  if (leftovers.length) console.log(`\nWARNING: processes left behind: ${leftovers.map((p) => p.pid).join(', ')}`);
  console.log(
    JSON.stringify({
      bench: 'provision',
      runs: RUNS,
      flavor: flavor.name,
      bareMedianMs: Math.round(bareMedian),
      cofferMedianMs: Math.round(cofferMedian),
      ratio: round(cofferMedian / bareMedian),
      target: 1.5,
      concurrent: { count: CONCURRENT, bareMs: Math.round(bareConcurrentMs), cofferMs: Math.round(cofferConcurrentMs), ratio: round(cofferConcurrentMs / bareConcurrentMs) },
      guestRssMiB: guestRss,
      mariadbdRssMiB: serverRss,
      leftovers: leftovers.length,
    }),
  );
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
