/**
 * A CPU budget per process for a benchmark (bench:conductor's `BENCH_CONDUCTOR_CPU`): each
 * process runs in a cgroup of its own capped at `cores` of CPU time (CFS bandwidth: `quota`
 * microseconds per `period`, the same cap as `docker run --cpus`), so that on a small shared
 * machine the processes, not the machine, are the limit and adding one adds its budget.
 *
 * cgroup v2 (`cpu.max`, when the unified hierarchy has the cpu controller) or v1 (the `cpu`
 * hierarchy's `cpu.cfs_quota_us` and `cpu.cfs_period_us`); needs write access (root). The
 * groups are named `coffer-bench-<pid>-<n>` and removed when their process ends, on exit, on
 * SIGINT/SIGTERM, and, for a run killed before it could, by the next run (an empty group of
 * a process that no longer exists).
 */
import {
  existsSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  mkdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

const PERIOD_US = 100_000;
const PREFIX = 'coffer-bench-';

export interface CpuBudgets {
  /** `v1 /sys/fs/cgroup/cpu` or `v2 /sys/fs/cgroup`. */
  readonly where: string;
  /** A new group capped at the budget; `procsFile` is where a process writes its pid to join. */
  create(): CpuGroup;
  /** Removes every group made here (their processes must have ended). */
  removeAll(): void;
}

export interface CpuGroup {
  readonly path: string;
  readonly procsFile: string;
  /** CPU periods so far and those in which the group was throttled (it used its whole quota). */
  throttling(): { periods: number; throttled: number; throttledMs: number };
  remove(): void;
}

/** Budgets of `cores` CPUs per group, or the reason they cannot be made here. */
export function cpuBudgets(cores: number): CpuBudgets | { reason: string } {
  if (!(cores > 0)) return { reason: `not a CPU budget: ${cores}` };
  const quotaUs = Math.max(1000, Math.round(cores * PERIOD_US));
  const found = findHierarchy();
  if ('reason' in found) return found;
  const { version, root } = found;
  removeLeftovers(root);
  try {
    const probe = join(root, `${PREFIX}${process.pid}-probe`);
    mkdirSync(probe);
    rmdirSync(probe);
  } catch (error) {
    return { reason: `cannot make a cgroup under ${root}: ${(error as Error).message}` };
  }

  const groups = new Set<CpuGroup>();
  let next = 0;
  const removeAll = () => {
    for (const group of groups) group.remove();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    removeAll();
    process.kill(process.pid, signal);
  };
  process.once('exit', removeAll);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  return {
    where: `v${version} ${root}`,
    removeAll,
    create() {
      const path = join(root, `${PREFIX}${process.pid}-${next++}`);
      mkdirSync(path);
      if (version === 2) {
        writeFileSync(join(path, 'cpu.max'), `${quotaUs} ${PERIOD_US}`);
      } else {
        writeFileSync(join(path, 'cpu.cfs_period_us'), String(PERIOD_US));
        writeFileSync(join(path, 'cpu.cfs_quota_us'), String(quotaUs));
      }
      const group: CpuGroup = {
        path,
        procsFile: join(path, 'cgroup.procs'),
        throttling: () => readThrottling(path, version),
        remove: () => {
          groups.delete(group);
          removeGroup(path);
        },
      };
      groups.add(group);
      return group;
    },
  };
}

function findHierarchy(): { version: 1 | 2; root: string } | { reason: string } {
  // v2: the unified hierarchy at /sys/fs/cgroup (or /sys/fs/cgroup/unified beside v1) with cpu.
  for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    const controllers = join(root, 'cgroup.controllers');
    if (!existsSync(controllers)) continue;
    if (!readFileSync(controllers, 'utf8').split(/\s+/).includes('cpu')) continue;
    const subtree = join(root, 'cgroup.subtree_control');
    try {
      if (!readFileSync(subtree, 'utf8').split(/\s+/).includes('cpu'))
        writeFileSync(subtree, '+cpu');
    } catch (error) {
      return {
        reason: `cannot enable the cpu controller in ${subtree}: ${(error as Error).message}`,
      };
    }
    return { version: 2, root };
  }
  const v1 = '/sys/fs/cgroup/cpu';
  if (existsSync(join(v1, 'cpu.cfs_quota_us'))) return { version: 1, root: v1 };
  return {
    reason:
      'no cgroup with the cpu controller: neither cgroup v2 (cgroup.controllers listing cpu) nor v1 (/sys/fs/cgroup/cpu/cpu.cfs_quota_us)',
  };
}

function readThrottling(
  path: string,
  version: 1 | 2,
): { periods: number; throttled: number; throttledMs: number } {
  const stat = new Map<string, number>();
  for (const line of readFileSync(join(path, 'cpu.stat'), 'utf8').split('\n')) {
    const [key, value] = line.split(' ');
    if (key && value) stat.set(key, Number(value));
  }
  return {
    periods: stat.get('nr_periods') ?? 0,
    throttled: stat.get('nr_throttled') ?? 0,
    throttledMs:
      version === 2
        ? (stat.get('throttled_usec') ?? 0) / 1000
        : (stat.get('throttled_time') ?? 0) / 1e6,
  };
}

/** Removes a group: its processes (the bench's own, started into it) are killed first; waits up to 2 s for them to end. */
function removeGroup(path: string): void {
  try {
    for (const pid of readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean))
      process.kill(Number(pid), 'SIGKILL');
  } catch {
    // gone already
  }
  const deadline = Date.now() + 2000;
  for (;;) {
    try {
      rmdirSync(path);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() > deadline) {
        console.error(`could not remove the cgroup ${path}: ${(error as Error).message}`);
        return;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

/** Groups an earlier run left behind (killed before it could remove them): those of ended processes. */
function removeLeftovers(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const owner = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!owner || existsSync(`/proc/${owner[1]}`)) continue;
    try {
      rmdirSync(join(root, name));
    } catch {
      // still has processes, or not ours to remove
    }
  }
}
