import {
  accessSync,
  constants,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { localComputeEnv } from '../env';
import { ComputeError, silentLogger, type ComputeLogger, type Flavor } from '../provider';

/**
 * Flavors that are limits (issue 13): each instance's guest, and the database server it starts
 * (a child, which inherits the group), runs in a cgroup of its own sized from the flavor.
 *
 * - memory: the flavor's RAM plus {@link GUEST_AGENT_HEADROOM_MB} for the guest agent (a Node
 *   process of about 60-90 MB that Trove's agent, in the VM, would take from the VM's RAM; here
 *   the flavor's RAM is the database server's), no swap beyond it. Page cache counts too, and
 *   is reclaimed first; what cannot be reclaimed ends in the kernel's OOM killer inside the
 *   group, which picks the largest process: the database server, which the guest starts again.
 * - CPU: a CFS quota of vCPUs × {@link CPU_PERIOD_US} per period: the group never runs more
 *   than `vcpus` CPUs' worth, whatever its threads.
 * - pids: at most {@link PIDS_MAX} tasks (threads count), against a runaway of threads or
 *   processes; a database server refuses connections past it rather than starving the host.
 *
 * Two layouts behind one interface, chosen at run time:
 * - cgroup v2 (`<root>/cgroup.controllers` lists memory and cpu): one directory
 *   `<root>/coffer/<instanceId>` with memory.max, memory.swap.max, cpu.max, pids.max;
 * - cgroup v1: `<mount>/coffer/<instanceId>` under each of the memory, cpu, cpuacct and pids
 *   hierarchies that are mounted (memory.limit_in_bytes, memory.memsw.limit_in_bytes,
 *   cpu.cfs_quota_us/cfs_period_us, pids.max).
 *
 * The groups sit at the hierarchy's root, not under the worker's own group: guests outlive the
 * worker (a service manager stopping the worker must not take them along). Without the
 * controllers, or without permission to make groups, instances run unconfined: said once in
 * the log. `COFFER_LOCAL_CGROUPS=off` turns this off; `required` makes the provider refuse to
 * start where it cannot confine.
 */

export const CGROUPS_SETTINGS = ['auto', 'off', 'required'] as const;
export type CgroupsSetting = (typeof CGROUPS_SETTINGS)[number];

/** COFFER_LOCAL_CGROUPS (env.ts); a wrong value is `UNAVAILABLE`: the worker refuses to start. */
export function cgroupsSettingFromEnv(env?: NodeJS.ProcessEnv): CgroupsSetting {
  try {
    return localComputeEnv(env).COFFER_LOCAL_CGROUPS;
  } catch (error) {
    throw new ComputeError(
      'UNAVAILABLE',
      `COFFER_LOCAL_CGROUPS must be one of ${CGROUPS_SETTINGS.join(', ')}`,
      { cause: error },
    );
  }
}

/** Memory given on top of the flavor's RAM, for the guest agent itself. */
export const GUEST_AGENT_HEADROOM_MB = 128;
/** The CFS period; the quota is vCPUs times this. */
export const CPU_PERIOD_US = 100_000;
/** Tasks (processes and threads) an instance's group may hold. */
export const PIDS_MAX = 4096;
/** The parent group every instance's group sits in. */
export const DEFAULT_CGROUP_PARENT = 'coffer';

export interface CgroupLimits {
  memoryBytes: number;
  cpuQuotaUs: number;
  cpuPeriodUs: number;
  pidsMax: number;
}

export function limitsOf(flavor: Flavor): CgroupLimits {
  return {
    memoryBytes: (flavor.ramMb + GUEST_AGENT_HEADROOM_MB) * 1024 * 1024,
    cpuQuotaUs: flavor.vcpus * CPU_PERIOD_US,
    cpuPeriodUs: CPU_PERIOD_US,
    pidsMax: PIDS_MAX,
  };
}

/** What the kernel says of a group now; a figure the host's layout does not offer is null. */
export interface CgroupStats {
  memoryLimitBytes: number | null;
  memoryCurrentBytes: number | null;
  /** The highest use since the group was made (v1: since the last resetPeak). */
  memoryPeakBytes: number | null;
  /** Anonymous memory (what reclaim cannot give back without swap). */
  memoryAnonBytes: number | null;
  /** Processes the OOM killer killed in the group. */
  oomKills: number | null;
  cpuQuotaUs: number | null;
  cpuPeriodUs: number | null;
  /** CPU time the group used, in microseconds. */
  cpuUsageUs: number | null;
  pidsMax: number | null;
}

/** What `resize` did: applied in place, or the memory in use is above the new limit (stop the group first). */
export type ResizeOutcome = 'applied' | 'needs-restart' | 'absent' | 'not-enforced';

export interface InstanceCgroups {
  /** `v1`, `v2`, or null when nothing is enforced (turned off, or the host does not allow it). */
  readonly version: 'v1' | 'v2' | null;
  /** The controllers enforced: some of memory, cpu, pids. */
  readonly controllers: readonly string[];
  /** Why nothing is enforced, when it is not. */
  readonly reason: string | null;
  /**
   * Makes the instance's group (or finds it) and sets the flavor's limits; returns the
   * `cgroup.procs` files a process joins by writing its pid ([] when nothing is enforced).
   * A memory limit below the group's current use is left as it was (logged): see `resize`.
   */
  prepare(instanceId: string, flavor: Flavor): string[];
  /** Moves processes (with their threads) into the instance's group. */
  join(instanceId: string, pids: number[]): void;
  /** Sets a new flavor's limits on an existing group. Idempotent. */
  resize(instanceId: string, flavor: Flavor): ResizeOutcome;
  /**
   * `resize` once the group's processes were stopped: the memory they held is counted off a
   * moment after they are gone, so it tries again for up to `timeoutMs`.
   */
  resizeStopped(instanceId: string, flavor: Flavor, timeoutMs?: number): Promise<ResizeOutcome>;
  /**
   * Removes the instance's group: processes still in it are killed (they are the instance's
   * by where they run), then its directories go; the shared parent too once empty. Idempotent.
   */
  remove(instanceId: string): Promise<void>;
  exists(instanceId: string): boolean;
  /** The live processes in the instance's group (empty when there is none). */
  pids(instanceId: string): number[];
  stats(instanceId: string): CgroupStats | null;
  /** v1 only: starts the peak (memory.max_usage_in_bytes) again from the current use. */
  resetPeak(instanceId: string): void;
}

export interface InstanceCgroupsOptions {
  setting?: CgroupsSetting;
  logger?: ComputeLogger;
  /** The parent group's name (tests use their own). */
  parent?: string;
  /** /proc/self/mountinfo's text (tests). */
  mountInfo?: string;
}

interface Backend {
  readonly version: 'v1' | 'v2';
  readonly controllers: readonly string[];
  /** Every directory of the instance's group (one on v2, one per hierarchy on v1). */
  dirs(instanceId: string): string[];
  parentDirs(): string[];
  /** Creates the directories (and, on v2, enables the controllers for them). */
  create(instanceId: string): void;
  /** Writes the limits; 'busy' when the kernel refused a memory limit below what is in use (v1). */
  setLimits(instanceId: string, limits: CgroupLimits): 'applied' | 'busy';
  stats(instanceId: string): CgroupStats;
  resetPeak(instanceId: string): void;
}

const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids'] as const;
const V2_CONTROLLERS = ['memory', 'cpu', 'pids'] as const;

const reportedUnavailable = new Set<string>();

/** Finds how this host offers cgroups and makes the instances' groups through it. */
export function createInstanceCgroups(options: InstanceCgroupsOptions = {}): InstanceCgroups {
  const setting = options.setting ?? 'auto';
  const logger = options.logger ?? silentLogger;
  const parent = options.parent ?? DEFAULT_CGROUP_PARENT;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(parent)) {
    throw new ComputeError('INVALID', `not a cgroup name: ${JSON.stringify(parent)}`);
  }
  if (setting === 'off') return new Unconfined('COFFER_LOCAL_CGROUPS=off');
  let backend: Backend | string;
  try {
    backend = detectBackend(
      parent,
      options.mountInfo ?? readFileSync('/proc/self/mountinfo', 'utf8'),
    );
  } catch (error) {
    backend = `cannot read the cgroup mounts: ${(error as Error).message}`;
  }
  if (typeof backend !== 'string') {
    // Proves the permission once: the parent can be made (and, on v2, given the controllers).
    try {
      probe(backend);
    } catch (error) {
      backend = `cannot make cgroups under ${backend.parentDirs().join(', ')}: ${(error as Error).message}`;
    }
  }
  if (typeof backend === 'string') {
    if (setting === 'required') {
      throw new ComputeError(
        'UNAVAILABLE',
        `COFFER_LOCAL_CGROUPS=required, but instances cannot be confined here: ${backend}`,
      );
    }
    if (!reportedUnavailable.has(backend)) {
      reportedUnavailable.add(backend);
      logger.warn(
        { reason: backend },
        'instances run without CPU and memory limits: this host offers no cgroups Coffer may use (COFFER_LOCAL_CGROUPS=off silences this)',
      );
    }
    return new Unconfined(backend);
  }
  return new Confined(backend, logger);
}

function probe(backend: Backend): void {
  const probeId = `probe-${process.pid}-${Date.now()}`;
  try {
    backend.create(probeId);
  } finally {
    for (const dir of backend.dirs(probeId)) {
      try {
        rmdirSync(dir);
      } catch {
        // Not made.
      }
    }
  }
}

class Unconfined implements InstanceCgroups {
  readonly version = null;
  readonly controllers: readonly string[] = [];
  constructor(readonly reason: string) {}
  prepare(): string[] {
    return [];
  }
  join(): void {}
  resize(): ResizeOutcome {
    return 'not-enforced';
  }
  async resizeStopped(): Promise<ResizeOutcome> {
    return 'not-enforced';
  }
  async remove(): Promise<void> {}
  exists(): boolean {
    return false;
  }
  pids(): number[] {
    return [];
  }
  stats(): CgroupStats | null {
    return null;
  }
  resetPeak(): void {}
}

class Confined implements InstanceCgroups {
  readonly version: 'v1' | 'v2';
  readonly controllers: readonly string[];
  readonly reason = null;

  constructor(
    private readonly backend: Backend,
    private readonly logger: ComputeLogger,
  ) {
    this.version = backend.version;
    this.controllers = backend.controllers;
  }

  prepare(instanceId: string, flavor: Flavor): string[] {
    checkId(instanceId);
    const limits = limitsOf(flavor);
    // Another instance's remove may take the (then empty) parent away between our mkdirs: again.
    for (let attempt = 1; ; attempt++) {
      try {
        this.backend.create(instanceId);
        if (this.backend.setLimits(instanceId, limits) === 'busy') {
          this.logger.warn(
            { instanceId, memoryBytes: limits.memoryBytes },
            'the group uses more memory than the new limit: the old limit stays until it restarts',
          );
        }
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) {
          throw new ComputeError(
            'UNAVAILABLE',
            `could not set up the instance's cgroup: ${(error as Error).message}`,
            { cause: error },
          );
        }
      }
    }
    return this.backend.dirs(instanceId).map((dir) => join(dir, 'cgroup.procs'));
  }

  join(instanceId: string, pids: number[]): void {
    checkId(instanceId);
    for (const dir of this.backend.dirs(instanceId)) {
      for (const pid of pids) {
        try {
          writeFileSync(join(dir, 'cgroup.procs'), `${pid}\n`);
        } catch (error) {
          // A process that ended meanwhile cannot be moved; anything else is a real failure.
          if ((error as NodeJS.ErrnoException).code === 'ESRCH') continue;
          throw new ComputeError(
            'UNAVAILABLE',
            `could not move process ${pid} into ${dir}: ${(error as Error).message}`,
            { cause: error },
          );
        }
      }
    }
  }

  resize(instanceId: string, flavor: Flavor): ResizeOutcome {
    checkId(instanceId);
    if (!this.exists(instanceId)) return 'absent';
    const limits = limitsOf(flavor);
    // v1 refuses a limit below what it cannot reclaim (EBUSY: 'busy' below), exactly; v2 would
    // kill for it, so anonymous memory is compared first (memory.stat may lag a moment).
    if (this.backend.version === 'v2') {
      const anon = this.backend.stats(instanceId).memoryAnonBytes;
      if (anon !== null && anon >= limits.memoryBytes) return 'needs-restart';
    }
    return this.backend.setLimits(instanceId, limits) === 'busy' ? 'needs-restart' : 'applied';
  }

  async resizeStopped(
    instanceId: string,
    flavor: Flavor,
    timeoutMs = 10_000,
  ): Promise<ResizeOutcome> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const outcome = this.resize(instanceId, flavor);
      if (outcome !== 'needs-restart' || Date.now() > deadline) return outcome;
      await delay(50);
    }
  }

  async remove(instanceId: string): Promise<void> {
    checkId(instanceId);
    const deadline = Date.now() + 10_000;
    for (const dir of this.backend.dirs(instanceId)) {
      for (;;) {
        const left = readPids(dir);
        if (left.length > 0) {
          this.logger.warn(
            { instanceId, pids: left },
            'killing processes left in the instance cgroup',
          );
          for (const pid of left) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // Gone already.
            }
          }
        }
        try {
          rmdirSync(dir);
          break;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          // EBUSY while the killed tasks are still exiting.
          if (code !== 'EBUSY' || Date.now() > deadline) {
            throw new ComputeError(
              'UNAVAILABLE',
              `could not remove the cgroup ${dir}: ${(error as Error).message}`,
              { cause: error },
            );
          }
          await delay(50);
        }
      }
    }
    // The shared parent, once no instance uses it (another may be making one right now: it
    // then fails here, or makes the parent again).
    for (const dir of this.backend.parentDirs()) {
      try {
        rmdirSync(dir);
      } catch {
        // Busy: other instances' groups are in it.
      }
    }
  }

  exists(instanceId: string): boolean {
    checkId(instanceId);
    return this.backend.dirs(instanceId).some((dir) => readPids(dir, null) !== null);
  }

  pids(instanceId: string): number[] {
    checkId(instanceId);
    const all = new Set<number>();
    for (const dir of this.backend.dirs(instanceId)) for (const pid of readPids(dir)) all.add(pid);
    // A process that ended but is not yet reaped by its parent is still listed: not counted.
    return [...all].filter((pid) => !isZombie(pid)).sort((a, b) => a - b);
  }

  stats(instanceId: string): CgroupStats | null {
    checkId(instanceId);
    return this.exists(instanceId) ? this.backend.stats(instanceId) : null;
  }

  resetPeak(instanceId: string): void {
    checkId(instanceId);
    this.backend.resetPeak(instanceId);
  }
}

function checkId(instanceId: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(instanceId)) {
    throw new ComputeError('INVALID', `not a cgroup name: ${JSON.stringify(instanceId)}`);
  }
}

/** Pids listed in a group's cgroup.procs; `missing` when the group does not exist. */
function readPids(dir: string): number[];
function readPids(dir: string, missing: null): number[] | null;
function readPids(dir: string, missing: number[] | null = []): number[] | null {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((line) => /^[0-9]+$/.test(line))
      .map(Number);
  } catch {
    return missing;
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return true;
  }
}

function readNumber(path: string): number | null {
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (text === 'max') return Number.POSITIVE_INFINITY;
    const value = Number(text);
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

/** A `key value` line of a flat-keyed file (memory.stat, memory.events, cpu.stat, memory.oom_control). */
function readKey(path: string, key: string): number | null {
  try {
    const match = new RegExp(`^${key} (\\d+)$`, 'm').exec(readFileSync(path, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** A figure in a file of its own, or `[file, key]`: a `key value` line of a flat-keyed file. */
type MemorySource = string | [file: string, key: string];

type MemoryStats = Pick<
  CgroupStats,
  'memoryLimitBytes' | 'memoryCurrentBytes' | 'memoryPeakBytes' | 'memoryAnonBytes' | 'oomKills'
>;

/** Where each version keeps the memory figures of {@link CgroupStats}, side by side. */
const MEMORY_SOURCES: Record<keyof MemoryStats, Record<'v1' | 'v2', MemorySource>> = {
  memoryLimitBytes: { v2: 'memory.max', v1: 'memory.limit_in_bytes' },
  memoryCurrentBytes: { v2: 'memory.current', v1: 'memory.usage_in_bytes' },
  memoryPeakBytes: { v2: 'memory.peak', v1: 'memory.max_usage_in_bytes' },
  memoryAnonBytes: { v2: ['memory.stat', 'anon'], v1: ['memory.stat', 'total_rss'] },
  oomKills: { v2: ['memory.events', 'oom_kill'], v1: ['memory.oom_control', 'oom_kill'] },
};

function readMemoryStats(dir: string, version: 'v1' | 'v2'): MemoryStats {
  const read = (figure: keyof MemoryStats): number | null => {
    const source = MEMORY_SOURCES[figure][version];
    return typeof source === 'string'
      ? readNumber(join(dir, source))
      : readKey(join(dir, source[0]), source[1]);
  };
  return {
    memoryLimitBytes: read('memoryLimitBytes'),
    memoryCurrentBytes: read('memoryCurrentBytes'),
    memoryPeakBytes: read('memoryPeakBytes'),
    memoryAnonBytes: read('memoryAnonBytes'),
    oomKills: read('oomKills'),
  };
}

function exists(path: string): boolean {
  try {
    readdirSync(path);
    return true;
  } catch {
    return false;
  }
}

interface Mount {
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

/** The cgroup mounts of /proc/self/mountinfo. */
export function parseCgroupMounts(mountInfo: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of mountInfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4];
    const [fsType, , superOptions] = right.split(' ');
    if (!mountPoint || (fsType !== 'cgroup' && fsType !== 'cgroup2')) continue;
    mounts.push({
      // mountinfo escapes spaces and the like as octal.
      mountPoint: mountPoint.replace(/\\([0-7]{3})/g, (_, octal: string) =>
        String.fromCharCode(Number.parseInt(octal, 8)),
      ),
      fsType,
      superOptions: (superOptions ?? '').split(','),
    });
  }
  return mounts;
}

/** v2 where the unified hierarchy has memory and cpu; else v1 where memory and cpu are mounted; else why not. */
function detectBackend(parent: string, mountInfo: string): Backend | string {
  const mounts = parseCgroupMounts(mountInfo);
  for (const mount of mounts.filter((m) => m.fsType === 'cgroup2')) {
    let available: string[];
    try {
      available = readFileSync(join(mount.mountPoint, 'cgroup.controllers'), 'utf8')
        .trim()
        .split(/\s+/);
    } catch {
      continue;
    }
    if (available.includes('memory') && available.includes('cpu')) {
      return new V2Backend(
        mount.mountPoint,
        parent,
        V2_CONTROLLERS.filter((c) => available.includes(c)),
      );
    }
  }
  const v1 = new Map<string, string>();
  for (const mount of mounts.filter((m) => m.fsType === 'cgroup')) {
    for (const controller of V1_CONTROLLERS) {
      if (mount.superOptions.includes(controller) && !v1.has(controller)) {
        v1.set(controller, mount.mountPoint);
      }
    }
  }
  if (v1.has('memory') && v1.has('cpu')) return new V1Backend(v1, parent);
  return mounts.length === 0
    ? 'no cgroup filesystem is mounted'
    : 'neither cgroup v2 with the memory and cpu controllers nor v1 memory and cpu hierarchies are mounted';
}

class V2Backend implements Backend {
  readonly version = 'v2';
  private readonly parentDir: string;

  constructor(
    private readonly root: string,
    parent: string,
    readonly controllers: readonly string[],
  ) {
    this.parentDir = join(root, parent);
  }

  dirs(instanceId: string): string[] {
    return [join(this.parentDir, instanceId)];
  }

  parentDirs(): string[] {
    return [this.parentDir];
  }

  create(instanceId: string): void {
    const enable = this.controllers.map((c) => `+${c}`).join(' ');
    // The root's subtree_control (usually on already, under systemd), then the parent's.
    enableControllers(this.root, enable, this.controllers);
    mkdirSync(this.parentDir, { recursive: true });
    enableControllers(this.parentDir, enable, this.controllers);
    mkdirSync(join(this.parentDir, instanceId), { recursive: true });
  }

  setLimits(instanceId: string, limits: CgroupLimits): 'applied' | 'busy' {
    const [dir] = this.dirs(instanceId) as [string];
    // No check here: below what is in use, the kernel reclaims and then kills; resize() asks for
    // a restart before it would come to that.
    writeFileSync(join(dir, 'memory.max'), `${limits.memoryBytes}\n`);
    writeIfPresent(join(dir, 'memory.swap.max'), '0\n');
    writeFileSync(join(dir, 'cpu.max'), `${limits.cpuQuotaUs} ${limits.cpuPeriodUs}\n`);
    if (this.controllers.includes('pids')) {
      writeFileSync(join(dir, 'pids.max'), `${limits.pidsMax}\n`);
    }
    return 'applied';
  }

  stats(instanceId: string): CgroupStats {
    const [dir] = this.dirs(instanceId) as [string];
    let cpuQuotaUs: number | null = null;
    let cpuPeriodUs: number | null = null;
    try {
      const [quota, period] = readFileSync(join(dir, 'cpu.max'), 'utf8').trim().split(' ');
      cpuQuotaUs = quota === 'max' ? Number.POSITIVE_INFINITY : Number(quota);
      cpuPeriodUs = Number(period);
    } catch {
      // Not there.
    }
    return {
      ...readMemoryStats(dir, 'v2'),
      cpuQuotaUs,
      cpuPeriodUs,
      cpuUsageUs: readKey(join(dir, 'cpu.stat'), 'usage_usec'),
      pidsMax: readNumber(join(dir, 'pids.max')),
    };
  }

  resetPeak(): void {
    // memory.peak can only be reset per open file (Linux 6.12+): the peak is since creation.
  }
}

function enableControllers(dir: string, enable: string, wanted: readonly string[]): void {
  const enabled = readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8').trim().split(/\s+/);
  if (wanted.every((c) => enabled.includes(c))) return;
  writeFileSync(join(dir, 'cgroup.subtree_control'), enable);
}

function writeIfPresent(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

class V1Backend implements Backend {
  readonly version = 'v1';
  readonly controllers: readonly string[];

  constructor(
    private readonly mounts: Map<string, string>,
    private readonly parent: string,
  ) {
    // cpuacct only measures; what is enforced is memory, cpu and (when mounted) pids.
    this.controllers = ['memory', 'cpu', 'pids'].filter((c) => mounts.has(c));
  }

  private dir(controller: string, instanceId: string): string | null {
    const mount = this.mounts.get(controller);
    return mount ? join(mount, this.parent, instanceId) : null;
  }

  dirs(instanceId: string): string[] {
    // Co-mounted controllers (cpu,cpuacct) share one directory.
    return [
      ...new Set(
        V1_CONTROLLERS.map((c) => this.dir(c, instanceId)).filter((d): d is string => d !== null),
      ),
    ];
  }

  parentDirs(): string[] {
    return [...new Set([...this.mounts.values()].map((mount) => join(mount, this.parent)))];
  }

  create(instanceId: string): void {
    for (const dir of this.dirs(instanceId)) mkdirSync(dir, { recursive: true });
  }

  setLimits(instanceId: string, limits: CgroupLimits): 'applied' | 'busy' {
    const memory = this.dir('memory', instanceId)!;
    const memoryLimit = join(memory, 'memory.limit_in_bytes');
    const memswLimit = join(memory, 'memory.memsw.limit_in_bytes');
    const hasMemsw = exists(memory) && readNumber(memswLimit) !== null;
    const before = readNumber(memoryLimit);
    try {
      // memsw (memory + swap) may never be below the memory limit: raise it first, lower it last.
      if (hasMemsw && before !== null && limits.memoryBytes > before) {
        writeFileSync(memswLimit, `${limits.memoryBytes}\n`);
      }
      writeFileSync(memoryLimit, `${limits.memoryBytes}\n`);
      if (hasMemsw) writeFileSync(memswLimit, `${limits.memoryBytes}\n`);
    } catch (error) {
      // The kernel could not reclaim down to the new limit: the old one stays.
      if ((error as NodeJS.ErrnoException).code === 'EBUSY') return 'busy';
      throw error;
    }
    const cpu = this.dir('cpu', instanceId)!;
    writeFileSync(join(cpu, 'cpu.cfs_period_us'), `${limits.cpuPeriodUs}\n`);
    writeFileSync(join(cpu, 'cpu.cfs_quota_us'), `${limits.cpuQuotaUs}\n`);
    const pids = this.dir('pids', instanceId);
    if (pids) writeFileSync(join(pids, 'pids.max'), `${limits.pidsMax}\n`);
    return 'applied';
  }

  stats(instanceId: string): CgroupStats {
    const memory = this.dir('memory', instanceId)!;
    const cpu = this.dir('cpu', instanceId)!;
    const cpuacct = this.dir('cpuacct', instanceId);
    const usageNs = cpuacct ? readNumber(join(cpuacct, 'cpuacct.usage')) : null;
    const pids = this.dir('pids', instanceId);
    const quota = readNumber(join(cpu, 'cpu.cfs_quota_us'));
    return {
      ...readMemoryStats(memory, 'v1'),
      cpuQuotaUs: quota === -1 ? Number.POSITIVE_INFINITY : quota,
      cpuPeriodUs: readNumber(join(cpu, 'cpu.cfs_period_us')),
      cpuUsageUs: usageNs === null ? null : Math.round(usageNs / 1000),
      pidsMax: pids ? readNumber(join(pids, 'pids.max')) : null,
    };
  }

  resetPeak(instanceId: string): void {
    writeFileSync(join(this.dir('memory', instanceId)!, 'memory.max_usage_in_bytes'), '0\n');
  }
}

const JOIN_SHELL = '/bin/sh';

/**
 * The command that starts `command` inside the groups: a shell that writes its own pid into
 * each `cgroup.procs` and then becomes the command (exec keeps the pid), so the command and
 * everything it starts are in the group from their first instruction. A write that fails is
 * said on stderr and the command starts anyway (the caller checks, and moves it, after).
 */
export function commandInCgroups(
  procsFiles: string[],
  command: string,
  args: string[],
): { command: string; args: string[] } {
  if (procsFiles.length === 0) return { command, args };
  // The shell would start and then fail to exec: say so now, as a spawn of the command would.
  if (command.includes('/')) {
    try {
      accessSync(command, constants.X_OK);
    } catch (error) {
      throw new ComputeError(
        'UNAVAILABLE',
        `could not start the guest: ${command}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  // PWD is the shell's own: the command gets the environment it was given, and only that.
  const script =
    'for f; do shift; [ "$f" = -- ] && break; echo $$ > "$f"; done; unset PWD; exec "$@"';
  return {
    command: '/bin/sh',
    args: ['-c', script, 'coffer-join', ...procsFiles, '--', command, ...args],
  };
}

/**
 * Until the shell of `commandInCgroups` has become the command (its pid's command line is no
 * longer the shell's), so whoever looks for the command by its command line finds it; at most
 * `timeoutMs`. False when it did not happen in time (or the process ended).
 */
export async function waitForExec(pid: number, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let argv0: string | undefined;
    try {
      argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
    } catch {
      return false;
    }
    if (argv0 !== undefined && argv0 !== '' && argv0 !== JOIN_SHELL) return true;
    if (Date.now() > deadline) return false;
    await delay(5);
  }
}

/** A process's descendants (children, theirs...), by /proc's parent pids. */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // Gone meanwhile.
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}
