/**
 * Conductor benchmark (issue 16, "Scale"): can the conductor hold a fleet?
 *
 * N simulated guests report to real conductor processes (the worker's conductor role as
 * `npm run start:conductor -w @coffer/worker` runs it: apps/worker/src/conductor/main.ts, 1, 2
 * or 3 of them sharing the stream's consumer group) over the real PostgreSQL and Redis.
 *
 * A simulated guest is the guest's own code for signing and sending, with canned samples and
 * no mariadbd: its Heartbeat loop (apps/guest/src/conductor/heartbeat.ts, at the default
 * interval) and its ConductorReporter (conductor-reporter.ts: the message built, validated,
 * signed with the guest's key and XADDed as a guest does). Only what the guest reads from its
 * server is canned (the status, the version, the volume's usage). That is the right stand-in
 * here: the conductor sees exactly what real guests send, at the rate they send it, and a
 * thousand mariadbd servers would not fit on this machine. The instances are rows in
 * PostgreSQL with their own sealed guest secrets, so every HMAC is verified as for a real
 * guest. The simulated guests share a pool of Redis connections (`BENCH_GUEST_CONNECTIONS`,
 * 50) instead of one each: what the conductor reads is the same stream either way.
 *
 * For each N (100, 300, 1000) with one conductor, then N = 1000 with 2 and 3:
 *   - latency of a status change, guest → console: a guest's canned status flips and its
 *     heartbeat is nudged (as the guest does on a change); the "console" is a subscriber on
 *     the change-feed channel (@coffer/runtime's ChangeFeed, as the web app listens) that the
 *     conductor publishes to after its commit. From the nudge to the event: p50, p99, max.
 *     Target p99 < 250 ms at 1000;
 *   - lost: every status change sent must be seen by the console (and be in the row);
 *   - the conductor processes' CPU (utime + stime from /proc/<pid>/stat) over the window,
 *     per guest;
 *   - PostgreSQL's writes: pg_stat_database's xact_commit and tup_inserted + tup_updated
 *     deltas per second over the window;
 *   - capacity: each guest's reporter then makes `BENCH_BURST` (40) beats, built and signed
 *     before the clock starts, which reach the streams at once (pipelined XADDs); the time
 *     until the group has read and acked all of them gives messages per second, which must
 *     grow with each conductor process added (the default interval's load alone does not
 *     saturate one, so it cannot show scaling).
 * Guests write to their shards of the stream (COFFER_CONDUCTOR_SHARDS, 12), as the worker tells
 * real guests; `BENCH_UNSHARDED=1` puts them all on the stream itself, as guests made before
 * the shards, to compare in one run.
 * Status changes per window: at least N, and at least 300, spread evenly over `BENCH_WINDOW_S`
 * (30) seconds after a warm-up of one interval plus 2 s (secrets cached, connections warm).
 * `BENCH_QUICK=1` (or `--quick` when run directly): N = 50 and 100, 1 and 2 processes, 8 s
 * windows, to check the bench itself. Ends with one line of JSON.
 * Run with `npm run bench:conductor` (scripts/coffer.mjs prepares services and a database).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';

import {
  CONDUCTOR_STREAM,
  conductorShardName,
  conductorShardStream,
  DEFAULT_CONDUCTOR_SHARDS,
  DEFAULT_HEARTBEAT_INTERVAL_SECONDS,
  EVENTS_CHANNEL,
  type ServiceStatus,
} from '@coffer/contracts';
import { generateGuestSecret, guestKeys } from '@coffer/contracts/crypto';
import { createPrismaClient } from '@coffer/db';
import { createProject, createUserWithPassword } from '@coffer/db/factories';
import { ChangeFeed } from '@coffer/runtime/change-feed';
import { createLogger } from '@coffer/runtime/logger';
import { Redis } from 'ioredis';

import { ConductorReporter } from '@coffer/guest/conductor/conductor-reporter';
import { Heartbeat } from '@coffer/guest/conductor/heartbeat';
import { GUEST_VERSION } from '@coffer/guest/version';
import { sealGuestSecret } from '@coffer/worker';
import { cpuBudgets, type CpuBudgets, type CpuGroup } from './lib/cgroup';
import { root, runBench } from './lib/coffer';
import { loadText, sampleLoad } from './lib/load';
import { now, printTable, round } from './lib/report';

const isQuick = process.env.BENCH_QUICK === '1' || process.argv.includes('--quick');
/** `BENCH_SIZES=1000`: only these fleet sizes (the last one is the one scaled over processes). */
const SIZES = process.env.BENCH_SIZES
  ? process.env.BENCH_SIZES.split(',').map(Number)
  : isQuick
    ? [50, 100]
    : [100, 300, 1000];
const SCALE_N = SIZES.at(-1)!;
const PROCESS_COUNTS = isQuick ? [1, 2] : [1, 2, 3];
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? (isQuick ? 8 : 30));
/**
 * 40: at 1000 guests a burst of 10 drained in 2-4 s (a few dozen CFS periods of a capped
 * process, plus the start and the end), too short to tell 1, 2 and 3 processes apart: the
 * figures jumped from run to run (docs/benchmarks.md). 40,000 beats take 4-8 s.
 */
const BURST = Number(process.env.BENCH_BURST ?? 40);
const GUEST_CONNECTIONS = Number(process.env.BENCH_GUEST_CONNECTIONS ?? 50);
/** XADDs per pipeline when the burst reaches the streams. */
const PIPELINE = 200;
/** `BENCH_METRICS=1`: each beat is followed by a metrics sample, as a real guest sends (two entries per beat). */
const SENDS_METRICS = process.env.BENCH_METRICS === '1';
/**
 * `BENCH_CONDUCTOR_CPU=0.25`: each conductor process in a cgroup of its own capped at that many
 * cores (bench/lib/cgroup.ts), so that on a small shared machine the processes are the limit,
 * not the machine, and the consumer group's scaling shows. Unset: no cap.
 */
const CPU_BUDGET = process.env.BENCH_CONDUCTOR_CPU ? Number(process.env.BENCH_CONDUCTOR_CPU) : null;
/** The conductor stream's shards (the conductors read COFFER_CONDUCTOR_SHARDS from the same environment). */
const SHARDS = Number(process.env.COFFER_CONDUCTOR_SHARDS ?? DEFAULT_CONDUCTOR_SHARDS);
/**
 * `BENCH_UNSHARDED=1`: every simulated guest writes to the stream itself, as guests made before
 * the shards do (all processes share all guests), to compare with the shards in one run.
 */
const IS_UNSHARDED = process.env.BENCH_UNSHARDED === '1';
/** Every stream a guest may write to: the stream itself and its shards. */
const STREAMS = [
  CONDUCTOR_STREAM,
  ...Array.from({ length: SHARDS }, (_, shard) => conductorShardName(CONDUCTOR_STREAM, shard)),
];
const INTERVAL_MS = DEFAULT_HEARTBEAT_INTERVAL_SECONDS * 1000;
const TARGET_P99_MS = 250;
/** How long a sent change may take to be seen before it counts as lost. */
const LOST_AFTER_MS = 10_000;
const CLOCK_TICKS = 100;

const silent = createLogger({ service: 'bench-conductor', level: 'silent' });
/** What a simulated guest's metrics sample says (BENCH_METRICS=1). */
const CANNED_SAMPLE = {
  cpuPercent: 3.5,
  memoryBytes: 300 * 1024 * 1024,
  guestCpuPercent: 0.4,
  guestMemoryBytes: 60 * 1024 * 1024,
  connections: 4,
  maxUsedConnections: 9,
  abortedConnectsPerSec: 0,
  queriesPerSec: 12.5,
  slowQueriesPerSec: 0,
  bufferPoolHitRatio: 0.998,
  dirtyPages: 17,
  rowsReadPerSec: 240,
  rowsWrittenPerSec: 30,
  volumeUsedBytes: 200 * 1024 * 1024,
  volumeTotalBytes: 1024 * 1024 * 1024,
  binlogBytes: 5 * 1024 * 1024,
  maxConnections: 151,
};

type XaddArgs = Parameters<Redis['xadd']>;

interface SimulatedGuest {
  instanceId: string;
  signingKey: Buffer;
  status: ServiceStatus;
  /** When the current status change was sent (nudged), until the console sees it. */
  pendingSince: number | null;
  /** The same, on the wall clock (Date.now(), as Redis's entry ids and the conductor's log). */
  nudgedAt: number;
  heartbeat: Heartbeat | null;
  reporter: ConductorReporter | null;
}

interface Phase {
  guests: number;
  processes: number;
  loadavg: number[];
  changes: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  messagesPerS: number;
  conductorCpuPct: number;
  /** PostgreSQL's processes (its backends, WAL writer, checkpointer …), Redis and this process (the simulated guests and the console), in % of one core. */
  postgresCpuPct: number;
  redisCpuPct: number;
  guestsCpuPct: number;
  cpuPerGuestPct: number;
  cpuMsPerMessage: number;
  pgCommitsPerS: number;
  pgRowWritesPerS: number;
  burstMessages: number;
  burstS: number;
  /** Null when the burst was not drained within 2 minutes. */
  capacityPerS: number | null;
  /** Whether the group had read and acked everything 2 s after the fleet started beating. */
  keptUp: boolean;
  /** Whether everything sent in the window was read and acked within 2 minutes after it. */
  drained: boolean;
  /** Each conductor's CPU cap in cores (`BENCH_CONDUCTOR_CPU`), or null. */
  cpuBudgetCores: number | null;
  /** Of the CFS periods in the window (and in the burst), the % in which a capped conductor was throttled. */
  throttledPct: number | null;
  burstThrottledPct: number | null;
  /** Where the slowest changes' time went (see Stages). */
  stages: Stages | null;
  /** The conductors' warnings in the phase, by message (e.g. a batch statement that failed). */
  warnings: Record<string, number>;
}

/**
 * A status change's time, stage by stage (ms): `send` from the nudge to the entry in the stream
 * (the guest's beat: its probes, signing, XADD; Redis stamps the entry id), `queue` in the stream
 * until a conductor read it, `write` until its row was written (the conductor logs both), and
 * `deliver` from there to the console (the publish, Redis pub/sub, the console's event loop).
 * p50 and p99 of each, and the mean of each over the slowest 1 % of changes (at least 3).
 */
interface Stages {
  matched: number;
  p50: Record<StageName, number>;
  p99: Record<StageName, number>;
  slowest: Record<StageName, number>;
}
type StageName = 'send' | 'queue' | 'write' | 'deliver';
const STAGE_NAMES: StageName[] = ['send', 'queue', 'write', 'deliver'];

/** What a conductor logged of a change it applied ('conductor: instance changed'). */
interface ChangeLog {
  instanceId: string;
  arrivalMs: number;
  waitedMs: number;
  writtenInMs: number;
  loggedAt: number;
}

interface RunningConductor {
  child: ChildProcess;
  group: CpuGroup | null;
  changes: ChangeLog[];
  /** Its warnings (failed batch statements, writes left pending …), counted by message. */
  warnings: Map<string, number>;
}

/** Orders stream ids (`<ms>-<seq>`). */
function compareIds(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split('-').map(Number);
  const [bMs = 0, bSeq = 0] = b.split('-').map(Number);
  return aMs !== bMs ? aMs - bMs : aSeq - bSeq;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** User + system CPU time of a process so far, in seconds. */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * The conductor role alone, as its entry point runs it (in a cgroup of its own when `budgets`
 * is given: it joins it before node starts); resolves once it has started. Collects what it
 * logs of each change it applies.
 */
async function startConductor(budgets: CpuBudgets | null): Promise<RunningConductor> {
  const group = budgets?.create() ?? null;
  const command = [
    process.execPath,
    // e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where a conductor's time goes.
    ...(process.env.BENCH_CONDUCTOR_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    '--import',
    'tsx',
    // Another revision's conductor (e.g. a `git worktree` of an older commit), to compare.
    process.env.BENCH_CONDUCTOR_MAIN ?? join(root, 'apps/worker/src/conductor/main.ts'),
  ];
  const child = group
    ? spawn('/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', group.procsFile, ...command], {
        cwd: root,
        env: { ...process.env, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'inherit'],
      })
    : spawn(command[0]!, command.slice(1), {
        cwd: root,
        env: { ...process.env, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
  process.once('exit', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const changes: ChangeLog[] = [];
  const warnings = new Map<string, number>();
  await new Promise<void>((resolveStarted, rejectStarted) => {
    let buffer = '';
    let isStarted = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        if (!isStarted && line.includes('"worker started"')) {
          isStarted = true;
          resolveStarted();
        }
        if (line.startsWith('{"level":40')) {
          const { msg } = JSON.parse(line) as { msg: string };
          warnings.set(msg, (warnings.get(msg) ?? 0) + 1);
        }
        if (!line.includes('"conductor: instance changed"')) continue;
        const logged = JSON.parse(line) as {
          time: string;
          instanceId: string;
          entryId?: string;
          waitedMs?: number;
          writtenInMs?: number;
        };
        // An older revision's conductor (BENCH_CONDUCTOR_MAIN) may not log the stages.
        if (logged.entryId === undefined) continue;
        changes.push({
          instanceId: logged.instanceId,
          arrivalMs: Number(logged.entryId.split('-')[0]),
          waitedMs: logged.waitedMs ?? NaN,
          writtenInMs: logged.writtenInMs ?? NaN,
          loggedAt: Date.parse(logged.time),
        });
      }
    });
    child.once('exit', (code) => rejectStarted(new Error(`conductor exited with ${code}`)));
  });
  return { child, group, changes, warnings };
}

async function stopConductor({ child, group }: RunningConductor): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    await exited;
  }
  group?.remove();
}

/** % of the CFS periods between two readings in which the capped conductors were throttled. */
function throttledPercent(
  before: { periods: number; throttled: number }[],
  after: { periods: number; throttled: number }[],
): number | null {
  if (before.length === 0) return null;
  let periods = 0;
  let throttled = 0;
  after.forEach((reading, index) => {
    periods += reading.periods - before[index]!.periods;
    throttled += reading.throttled - before[index]!.throttled;
  });
  return periods > 0 ? round((throttled / periods) * 100, 1) : 0;
}

/** Each change seen by the console matched with its conductor's log line: see Stages. */
function stagesOf(
  seen: { instanceId: string; nudgedAt: number; seenAt: number }[],
  logs: ChangeLog[],
): Stages | null {
  const byInstance = new Map<string, ChangeLog[]>();
  for (const log of logs) {
    const list = byInstance.get(log.instanceId);
    if (list) list.push(log);
    else byInstance.set(log.instanceId, [log]);
  }
  const rows: (Record<StageName, number> & { total: number })[] = [];
  for (const change of seen) {
    // The change's entry: the first one that reached the stream after the nudge (1 ms of clock rounding).
    const log = byInstance
      .get(change.instanceId)
      ?.find(
        (entry) => entry.arrivalMs >= change.nudgedAt - 1 && entry.loggedAt <= change.seenAt + 1,
      );
    if (!log) continue;
    const written = log.arrivalMs + log.waitedMs + log.writtenInMs;
    rows.push({
      send: Math.max(0, log.arrivalMs - change.nudgedAt),
      queue: log.waitedMs,
      write: log.writtenInMs,
      deliver: Math.max(0, change.seenAt - written),
      total: change.seenAt - change.nudgedAt,
    });
  }
  if (rows.length === 0) return null;
  const slowest = [...rows]
    .sort((a, b) => b.total - a.total)
    .slice(0, Math.max(3, Math.ceil(rows.length / 100)));
  const each = (pick: (name: StageName) => number) =>
    Object.fromEntries(STAGE_NAMES.map((name) => [name, round(pick(name), 1)])) as Record<
      StageName,
      number
    >;
  return {
    matched: rows.length,
    p50: each((name) =>
      percentile(
        rows.map((row) => row[name]),
        50,
      ),
    ),
    p99: each((name) =>
      percentile(
        rows.map((row) => row[name]),
        99,
      ),
    ),
    slowest: each((name) => slowest.reduce((sum, row) => sum + row[name], 0) / slowest.length),
  };
}

async function main(): Promise<void> {
  let budgets: CpuBudgets | null = null;
  if (CPU_BUDGET !== null) {
    const made = cpuBudgets(CPU_BUDGET);
    if ('reason' in made) {
      console.log(`BENCH_CONDUCTOR_CPU=${CPU_BUDGET}: skipped, ${made.reason}`);
      console.log(JSON.stringify({ bench: 'conductor', skipped: made.reason }));
      return;
    }
    budgets = made;
    console.log(`each conductor capped at ${CPU_BUDGET} CPU (cgroup ${made.where})`);
  }
  const masterKey = process.env.COFFER_MASTER_KEY!;
  const prisma = createPrismaClient({ url: process.env.DATABASE_URL! });
  const redis = new Redis(process.env.REDIS_URL!);
  const guestConnections = Array.from(
    { length: GUEST_CONNECTIONS },
    () => new Redis(process.env.REDIS_URL!),
  );
  const consoleConnection = new Redis(process.env.REDIS_URL!);
  // The bench's own Redis: what an earlier run left in the streams is not this fleet's.
  await redis.del(...STREAMS, `${CONDUCTOR_STREAM}:members`);
  const feed = new ChangeFeed(consoleConnection, EVENTS_CHANNEL, silent);
  await feed.start();

  // The fleet: instance rows as the taskmanager leaves them once ACTIVE, each with its secret.
  const user = await createUserWithPassword(prisma, {
    email: `bench-conductor-${Date.now()}@example.com`,
    name: 'Bench',
    password: 'bench-password-123',
  });
  const project = await createProject(prisma, { name: 'bench-conductor', ownerUserId: user.id });
  const flavor = await prisma.flavor.findFirstOrThrow();
  const version = await prisma.datastoreVersion.findFirstOrThrow({ where: { isDefault: true } });
  const fleet: SimulatedGuest[] = [];
  const rows = [];
  for (let index = 0; index < SCALE_N; index++) {
    const instanceId = randomUUID();
    const secret = generateGuestSecret();
    fleet.push({
      instanceId,
      signingKey: guestKeys(secret).signing,
      status: 'RUNNING',
      pendingSince: null,
      nudgedAt: 0,
      heartbeat: null,
      reporter: null,
    });
    rows.push({
      id: instanceId,
      projectId: project.id,
      name: `bench-${String(index).padStart(4, '0')}`,
      flavorId: flavor.id,
      datastoreVersionId: version.id,
      volumeSizeGb: 1,
      taskStatus: 'NONE' as const,
      serviceStatus: 'RUNNING' as const,
      guestVersion: GUEST_VERSION,
      lastHeartbeatAt: new Date(),
      guestSecretEnc: sealGuestSecret(masterKey, instanceId, secret),
    });
  }
  await prisma.instance.createMany({ data: rows });
  const byId = new Map(fleet.map((guest) => [guest.instanceId, guest]));
  console.log(`${SCALE_N} instances with their guest secrets in PostgreSQL`);

  // The console: every change event, matched with the change it shows.
  let latencies: number[] = [];
  let seen: { instanceId: string; nudgedAt: number; seenAt: number }[] = [];
  const unsubscribers = fleet.map((guest) =>
    feed.onInstance(guest.instanceId, () => {
      const pending = byId.get(guest.instanceId)!;
      if (pending.pendingSince === null) return;
      latencies.push(now() - pending.pendingSince);
      seen.push({ instanceId: guest.instanceId, nudgedAt: pending.nudgedAt, seenAt: Date.now() });
      pending.pendingSince = null;
    }),
  );

  const pgStats = async () => {
    const [row] = await prisma.$queryRaw<
      Array<{ commits: bigint; inserted: bigint; updated: bigint }>
    >`SELECT xact_commit AS commits, tup_inserted AS inserted, tup_updated AS updated
        FROM pg_stat_database WHERE datname = current_database()`;
    return { commits: Number(row!.commits), writes: Number(row!.inserted + row!.updated) };
  };

  /**
   * Until the group has read and acked every entry added so far (the stream's last id when
   * called; the guests' later beats may still be in flight: a conductor may hold entries a
   * moment before writing them, so "nothing pending at all" would wait for a lull, not for
   * these entries); false if it did not within `timeoutMs`.
   */
  const untilDrained = async (timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    for (const stream of STREAMS) {
      if ((await redis.exists(stream)) === 0) continue;
      const info = (await redis.xinfo('STREAM', stream)) as unknown[];
      const upTo = String(info[info.indexOf('last-generated-id') + 1]);
      if (upTo === '0-0') continue;
      for (;;) {
        if (await isDrainedUpTo(stream, upTo)) break;
        if (Date.now() > deadline) return false;
        await new Promise((tick) => setTimeout(tick, 10));
      }
    }
    return true;
  };
  /** Whether the group of `stream` has read every entry up to `upTo` and has none of them pending. */
  const isDrainedUpTo = async (stream: string, upTo: string): Promise<boolean> => {
    const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
    const info = new Map<string, unknown>();
    const group = groups[0] ?? [];
    for (let index = 0; index + 1 < group.length; index += 2)
      info.set(String(group[index]), group[index + 1]);
    if (!info.has('name')) return false;
    const [pending, oldestPending] = (await redis.xpending(stream, String(info.get('name')))) as [
      number,
      string | null,
    ];
    return (
      compareIds(String(info.get('last-delivered-id') ?? '0-0'), upTo) >= 0 &&
      (Number(pending) === 0 || compareIds(oldestPending ?? '0-0', upTo) > 0)
    );
  };

  /** CPU seconds so far of PostgreSQL's processes (those it lists; gone ones count 0) and of Redis. */
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))![1]);
  const serviceCpuSeconds = async () => {
    const pids = await prisma.$queryRaw<Array<{ pid: number }>>`SELECT pid FROM pg_stat_activity`;
    let postgres = 0;
    for (const { pid } of pids) {
      try {
        postgres += cpuSecondsOf(pid);
      } catch {
        // ended meanwhile
      }
    }
    return { postgres, redis: cpuSecondsOf(redisPid) };
  };

  /** Entries ever added to the streams (XINFO STREAM's entries-added). */
  const entriesAdded = async () => {
    let added = 0;
    for (const stream of STREAMS) {
      if ((await redis.exists(stream)) === 0) continue;
      const info = (await redis.xinfo('STREAM', stream)) as unknown[];
      added += Number(info[info.indexOf('entries-added') + 1]);
    }
    return added;
  };

  /** While not null, the guests' XADDs are recorded here instead of sent (the burst). */
  let recording: XaddArgs[] | null = null;
  /** A guest's connection whose XADDs are recorded while `recording` is set. */
  const recordable = (connection: Redis): Redis =>
    ({
      xadd: (...args: XaddArgs) => {
        if (recording === null) return connection.xadd(...args);
        recording.push(args);
        return Promise.resolve('0-0');
      },
    }) as unknown as Redis;

  const phases: Phase[] = [];
  let epoch = 0;
  const runPhase = async (guestCount: number, processCount: number): Promise<Phase> => {
    const guests = fleet.slice(0, guestCount);
    const conductors = await Promise.all(
      Array.from({ length: processCount }, () => startConductor(budgets)),
    );
    const groups = conductors.flatMap(({ group }) => (group ? [group] : []));
    epoch++;
    // Each phase is a new boot of every guest: a higher epoch, so its seq 0 is taken.
    for (const [index, guest] of guests.entries()) {
      guest.reporter = new ConductorReporter({
        redis: recordable(guestConnections[index % guestConnections.length]!),
        stream: IS_UNSHARDED
          ? CONDUCTOR_STREAM
          : conductorShardStream(CONDUCTOR_STREAM, guest.instanceId, SHARDS),
        instanceId: guest.instanceId,
        signingKey: guest.signingKey,
        epoch,
      });
      guest.heartbeat = new Heartbeat({
        intervalMs: INTERVAL_MS,
        readStatus: async () => ({ serviceStatus: guest.status, serverVersion: '10.11.19' }),
        readVolume: async () => ({
          usedBytes: 200 * 1024 * 1024,
          totalBytes: 1024 * 1024 * 1024,
          fault: null,
        }),
        afterBeat: SENDS_METRICS
          ? async () => {
              await guest.reporter!.sendMetrics(CANNED_SAMPLE).catch(() => undefined);
            }
          : undefined,
        reporter: guest.reporter,
        logger: silent,
      });
    }
    // Guests start spread over one interval, as a fleet's do.
    const startSpacing = INTERVAL_MS / guestCount;
    for (const guest of guests) {
      guest.heartbeat!.start();
      await new Promise((tick) => setTimeout(tick, startSpacing));
    }
    await new Promise((tick) => setTimeout(tick, 2000));
    // Whether the conductors keep up with the fleet's beats at all (else a backlog grows).
    const keptUp = await untilDrained(20_000);

    // The window: regular beats from every guest, and status changes spread evenly over it.
    latencies = [];
    seen = [];
    for (const conductor of conductors) conductor.changes.length = 0;
    const changeCount = Math.max(guestCount, 300);
    const loadBefore = loadavg();
    const cpuBefore = conductors.map(({ child }) => cpuSecondsOf(child.pid!));
    const throttlingBefore = groups.map((group) => group.throttling());
    const servicesBefore = await serviceCpuSeconds();
    const guestsBefore = process.cpuUsage();
    const pgBefore = await pgStats();
    const addedBefore = await entriesAdded();
    const windowStart = now();
    let sentChanges = 0;
    let skipped = 0;
    for (let change = 0; change < changeCount; change++) {
      const due = windowStart + ((change + 0.5) * WINDOW_S * 1000) / changeCount;
      const wait = due - now();
      if (wait > 0) await new Promise((tick) => setTimeout(tick, wait));
      const guest = guests[(change * 7919) % guestCount]!;
      if (guest.pendingSince !== null) {
        skipped++;
        continue;
      }
      guest.status = guest.status === 'RUNNING' ? 'SHUTDOWN' : 'RUNNING';
      guest.pendingSince = now();
      guest.nudgedAt = Date.now();
      guest.heartbeat!.nudge();
      sentChanges++;
    }
    const windowEnd = windowStart + WINDOW_S * 1000;
    if (windowEnd > now()) await new Promise((tick) => setTimeout(tick, windowEnd - now()));
    const windowS = (now() - windowStart) / 1000;
    const messages = (await entriesAdded()) - addedBefore;
    const cpuAfter = conductors.map(({ child }) => cpuSecondsOf(child.pid!));
    const throttlingAfter = groups.map((group) => group.throttling());
    const servicesAfter = await serviceCpuSeconds();
    const guestsCpu = process.cpuUsage(guestsBefore);
    // PostgreSQL's backends report their counters at most once a second.
    await new Promise((tick) => setTimeout(tick, 1100));
    const pgAfter = await pgStats();
    const loadAfter = loadavg();
    // A backlog is late, not lost: what was sent must be read and applied first.
    const drained = await untilDrained(120_000);
    for (
      const deadline = now() + LOST_AFTER_MS;
      guests.some((guest) => guest.pendingSince !== null) && now() < deadline;
      await new Promise((tick) => setTimeout(tick, 50))
    );
    const lost = guests.filter((guest) => guest.pendingSince !== null).length;
    // The rows say what the guests said last.
    const statuses = await prisma.instance.findMany({
      where: { id: { in: guests.map((guest) => guest.instanceId) } },
      select: { id: true, serviceStatus: true },
    });
    const wrongRows = statuses.filter((row) => byId.get(row.id)!.status !== row.serviceStatus);
    for (const guest of guests) guest.pendingSince = null;

    // Capacity: every guest's reporter makes BURST beats (built and signed by the guest's code,
    // before the clock starts, so that this process's signing does not compete with the
    // conductors for the CPU), then they reach the streams at once (pipelined XADDs); until
    // all are acked.
    const burstMessages = guestCount * BURST;
    recording = [];
    // Round by round (every guest's first beat, then every guest's second …), as a backlog
    // of a fleet's beats is.
    for (let beat = 0; beat < BURST; beat++)
      for (const guest of guests)
        await guest.reporter!.sendHeartbeat({
          serviceStatus: guest.status,
          guestVersion: GUEST_VERSION,
          serverVersion: '10.11.19',
        });
    const burst = recording;
    recording = null;
    const burstThrottlingBefore = groups.map((group) => group.throttling());
    const burstStart = now();
    await Promise.all(
      guestConnections.map(async (connection, index) => {
        for (
          let from = index * PIPELINE;
          from < burst.length;
          from += guestConnections.length * PIPELINE
        ) {
          const pipeline = connection.pipeline();
          for (const args of burst.slice(from, from + PIPELINE)) pipeline.xadd(...args);
          await pipeline.exec();
        }
      }),
    );
    const burstDrained = drained && (await untilDrained(120_000));
    const burstS = (now() - burstStart) / 1000;
    const burstThrottlingAfter = groups.map((group) => group.throttling());

    for (const guest of guests) await guest.heartbeat!.stop();
    await untilDrained(120_000);
    const stages = stagesOf(
      seen,
      conductors.flatMap(({ changes }) => changes),
    );
    for (const conductor of conductors) await stopConductor(conductor);
    const warnings: Record<string, number> = {};
    for (const conductor of conductors)
      for (const [msg, count] of conductor.warnings) warnings[msg] = (warnings[msg] ?? 0) + count;

    const cpuS = cpuAfter.reduce((sum, after, index) => sum + after - cpuBefore[index]!, 0);
    const phase: Phase = {
      guests: guestCount,
      processes: processCount,
      loadavg: [
        ...loadBefore.map((value) => round(value, 2)),
        ...loadAfter.map((v) => round(v, 2)),
      ],
      changes: sentChanges,
      lost: lost + wrongRows.length,
      p50Ms: round(percentile(latencies, 50), 1),
      p99Ms: round(percentile(latencies, 99), 1),
      maxMs: round(Math.max(...latencies), 1),
      messagesPerS: round(messages / windowS, 0),
      conductorCpuPct: round((cpuS / windowS) * 100, 1),
      postgresCpuPct: round(
        ((servicesAfter.postgres - servicesBefore.postgres) / windowS) * 100,
        1,
      ),
      redisCpuPct: round(((servicesAfter.redis - servicesBefore.redis) / windowS) * 100, 1),
      guestsCpuPct: round(((guestsCpu.user + guestsCpu.system) / 1e6 / windowS) * 100, 1),
      cpuPerGuestPct: round((cpuS / windowS / guestCount) * 100, 4),
      cpuMsPerMessage: round((cpuS * 1000) / messages, 3),
      pgCommitsPerS: round((pgAfter.commits - pgBefore.commits) / windowS, 0),
      pgRowWritesPerS: round((pgAfter.writes - pgBefore.writes) / windowS, 0),
      burstMessages,
      burstS: round(burstS, 2),
      capacityPerS: burstDrained ? round(burstMessages / burstS, 0) : null,
      keptUp,
      drained,
      cpuBudgetCores: CPU_BUDGET,
      throttledPct: throttledPercent(throttlingBefore, throttlingAfter),
      burstThrottledPct: throttledPercent(burstThrottlingBefore, burstThrottlingAfter),
      stages,
      warnings,
    };
    if (skipped > 0) console.log(`  (${skipped} changes skipped: the guest's last one was unseen)`);
    console.log(
      `N=${guestCount} P=${processCount}: p50 ${phase.p50Ms} ms, p99 ${phase.p99Ms} ms, lost ${phase.lost}, CPU ${phase.conductorCpuPct} %, PG ${phase.pgCommitsPerS} commits/s, capacity ${phase.capacityPerS} msg/s; load ${loadBefore.map((v) => round(v, 1)).join('/')}`,
    );
    if (stages)
      console.log(
        `  stages (send/queue/write/deliver ms) p50 ${STAGE_NAMES.map((name) => stages.p50[name]).join('/')}, p99 ${STAGE_NAMES.map((name) => stages.p99[name]).join('/')}, slowest 1 % ${STAGE_NAMES.map((name) => stages.slowest[name]).join('/')}` +
          (phase.throttledPct === null
            ? ''
            : `; throttled ${phase.throttledPct} % of periods (burst ${phase.burstThrottledPct} %)`),
      );
    for (const [msg, count] of Object.entries(warnings))
      console.log(`  conductor warnings: ${count} × ${msg}`);
    return phase;
  };

  // No bare side here (the issue's targets are the reference), so no bare ratios: the load
  // over the whole run, and each phase's 1-minute load before and after its window.
  const loadSampler = sampleLoad();
  for (const guestCount of SIZES) phases.push(await runPhase(guestCount, 1));
  for (const processCount of PROCESS_COUNTS.slice(1))
    phases.push(await runPhase(SCALE_N, processCount));
  const load = loadSampler.stop();

  const scaling = phases.filter((phase) => phase.guests === SCALE_N);
  const atScale = scaling[0]!;
  const isScaling = scaling.every(
    (phase, index) =>
      phase.capacityPerS !== null &&
      (index === 0 || phase.capacityPerS > (scaling[index - 1]!.capacityPerS ?? Infinity)),
  );
  const meetsP99 = scaling.every((phase) => phase.p99Ms < TARGET_P99_MS);
  const isLossless = phases.every((phase) => phase.lost === 0);
  printTable(
    `Conductor, heartbeat every ${INTERVAL_MS / 1000} s, ${WINDOW_S} s windows${CPU_BUDGET === null ? '' : `, each process capped at ${CPU_BUDGET} CPU`}, ${IS_UNSHARDED ? 'guests on the one stream (BENCH_UNSHARDED)' : `guests on ${SHARDS} shards`}; ${loadText(load)}`,
    [
      'guests',
      'proc',
      'msg/s',
      'changes',
      'p50 ms',
      'p99 ms',
      'max ms',
      'lost',
      'CPU %',
      'CPU %/guest',
      'PG CPU %',
      'Redis CPU %',
      'guests CPU %',
      'PG commits/s',
      'PG rows/s',
      'capacity msg/s',
      'kept up',
      'throttled %',
      'load 1m',
    ],
    phases.map((phase) => [
      phase.guests,
      phase.processes,
      phase.messagesPerS,
      phase.changes,
      phase.p50Ms,
      phase.p99Ms,
      phase.maxMs,
      phase.lost,
      phase.conductorCpuPct,
      phase.cpuPerGuestPct,
      phase.postgresCpuPct,
      phase.redisCpuPct,
      phase.guestsCpuPct,
      phase.pgCommitsPerS,
      phase.pgRowWritesPerS,
      phase.capacityPerS ?? 'backlog',
      phase.keptUp ? 'yes' : 'no',
      phase.throttledPct === null ? '' : `${phase.throttledPct} / ${phase.burstThrottledPct}`,
      phase.loadavg[0]!,
    ]),
  );
  printTable(
    "Where a status change's time goes, ms: send (nudge → stream), queue (→ read), write (→ row written), deliver (→ console)",
    [
      'guests',
      'proc',
      'matched',
      ...STAGE_NAMES.flatMap((name) => [`${name} p50`, `${name} p99`, `${name} slowest 1 %`]),
    ],
    phases.map((phase) => [
      phase.guests,
      phase.processes,
      phase.stages?.matched ?? 0,
      ...STAGE_NAMES.flatMap((name): (string | number)[] =>
        phase.stages
          ? [phase.stages.p50[name], phase.stages.p99[name], phase.stages.slowest[name]]
          : ['', '', ''],
      ),
    ]),
  );
  printTable(
    'Targets',
    ['what', 'target', 'measured', 'result'],
    [
      [
        `p99 guest → console at ${SCALE_N}`,
        `< ${TARGET_P99_MS} ms`,
        scaling.map((phase) => `${phase.p99Ms} (${phase.processes}p)`).join(', '),
        meetsP99 ? 'pass' : 'FAIL',
      ],
      [
        'status changes lost',
        '0',
        String(phases.reduce((sum, phase) => sum + phase.lost, 0)),
        isLossless ? 'pass' : 'FAIL',
      ],
      [
        `capacity at ${SCALE_N} grows with each process`,
        'increasing',
        scaling.map((phase) => `${phase.capacityPerS} (${phase.processes}p)`).join(', '),
        isScaling ? 'pass' : 'FAIL',
      ],
    ],
  );

  for (const unsubscribe of unsubscribers) unsubscribe();
  await feed.close();
  consoleConnection.disconnect();
  for (const connection of guestConnections) connection.disconnect();
  redis.disconnect();
  await prisma.$disconnect();
  console.log(
    JSON.stringify({
      bench: 'conductor',
      quick: isQuick,
      heartbeatIntervalS: INTERVAL_MS / 1000,
      windowS: WINDOW_S,
      burstPerGuest: BURST,
      metricsSamples: SENDS_METRICS,
      conductorCpuBudget: CPU_BUDGET,
      shards: IS_UNSHARDED ? 0 : SHARDS,
      load,
      phases,
      ratios: {
        capacityVsOneProcess: scaling.map((phase) =>
          phase.capacityPerS === null || atScale.capacityPerS === null
            ? null
            : round(phase.capacityPerS / atScale.capacityPerS, 2),
        ),
        p99VsOneProcess: scaling.map((phase) => round(phase.p99Ms / atScale.p99Ms, 2)),
      },
      targets: { p99BelowMs: TARGET_P99_MS, meetsP99, isLossless, isScaling },
    }),
  );
}

runBench(main);
