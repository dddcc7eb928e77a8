import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { isComputeError } from '../provider';
import {
  cgroupsSettingFromEnv,
  commandInCgroups,
  createInstanceCgroups,
  descendantsOf,
  GUEST_AGENT_HEADROOM_MB,
  limitsOf,
  parseCgroupMounts,
  type InstanceCgroups,
} from './cgroups';

/**
 * cgroups.ts on this host's real cgroup filesystem (v1 here, v2 elsewhere), under a parent
 * group of the test's own: create, set limits, join, resize, remove leaves nothing. Runs as
 * root; where the host has no usable cgroups the confined tests are skipped (and say why).
 */

const parent = `coffer-test-${randomBytes(4).toString('hex')}`;
const probe = createInstanceCgroups({ parent });
const made: { cgroups: InstanceCgroups; ids: string[] }[] = [];
const children: number[] = [];

function cgroupsForTest(): InstanceCgroups {
  const cgroups = createInstanceCgroups({ parent });
  made.push({ cgroups, ids: [] });
  return cgroups;
}

function newId(): string {
  const id = randomUUID();
  made.at(-1)!.ids.push(id);
  return id;
}

/** A process that holds `mb` MB of anonymous memory, started inside the groups. */
function startProcess(procsFiles: string[], mb = 0): number {
  const script = `const b = Buffer.alloc(${mb} * 1024 * 1024, 1); setInterval(() => b[0]++, 1000);`;
  const { command, args } = commandInCgroups(procsFiles, process.execPath, ['-e', script]);
  const child = spawn(command, args, { stdio: 'ignore', detached: true });
  child.unref();
  children.push(child.pid!);
  return child.pid!;
}

function cgroupOf(pid: number, controller: string): string | null {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  for (const line of lines) {
    const [, controllers, path] = line.split(':');
    if (controllers === undefined || path === undefined) continue;
    if (controllers === '' || controllers.split(',').includes(controller)) {
      if (controllers !== '' || probe.version === 'v2') return path;
    }
  }
  return null;
}

function isAlive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

afterEach(async () => {
  // Even after a failure: every group made, then the test's parent.
  for (const { cgroups, ids } of made.splice(0)) {
    for (const id of ids) await cgroups.remove(id).catch(() => undefined);
  }
  for (const pid of children.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
});

describe('cgroup mounts', () => {
  it('reads v1 hierarchies (co-mounted or not) and the v2 mount from mountinfo', () => {
    const mountInfo = [
      '25 24 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
      '26 25 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate',
      '29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
      '30 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
      '31 25 0:28 / /proc rw - proc proc rw',
    ].join('\n');
    expect(parseCgroupMounts(mountInfo)).toEqual([
      {
        mountPoint: '/sys/fs/cgroup/unified',
        fsType: 'cgroup2',
        superOptions: ['rw', 'nsdelegate'],
      },
      {
        mountPoint: '/sys/fs/cgroup/cpu,cpuacct',
        fsType: 'cgroup',
        superOptions: ['rw', 'cpu', 'cpuacct'],
      },
      { mountPoint: '/sys/fs/cgroup/memory', fsType: 'cgroup', superOptions: ['rw', 'memory'] },
    ]);
  });

  it('runs unconfined, saying why, when turned off or when the host has no cgroups', () => {
    const off = createInstanceCgroups({ setting: 'off' });
    expect(off.version).toBeNull();
    expect(off.reason).toBe('COFFER_LOCAL_CGROUPS=off');
    expect(off.prepare(randomUUID(), { vcpus: 1, ramMb: 512 })).toEqual([]);
    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      warn: (_: object, m: string) => warnings.push(m),
      error() {},
    };
    const none = createInstanceCgroups({ mountInfo: '', logger, parent: `${parent}-none` });
    expect(none.version).toBeNull();
    expect(none.reason).toBe('no cgroup filesystem is mounted');
    // Logged once per process, however many providers are made.
    createInstanceCgroups({ mountInfo: '', logger, parent: `${parent}-none` });
    expect(warnings).toHaveLength(1);
    try {
      createInstanceCgroups({ mountInfo: '', setting: 'required' });
      expect.unreachable();
    } catch (error) {
      expect(isComputeError(error, 'UNAVAILABLE')).toBe(true);
    }
  });

  it('reads COFFER_LOCAL_CGROUPS: auto by default, a wrong value stops the worker', () => {
    expect(cgroupsSettingFromEnv({})).toBe('auto');
    expect(cgroupsSettingFromEnv({ COFFER_LOCAL_CGROUPS: 'OFF' })).toBe('off');
    expect(cgroupsSettingFromEnv({ COFFER_LOCAL_CGROUPS: 'required' })).toBe('required');
    expect(() => cgroupsSettingFromEnv({ COFFER_LOCAL_CGROUPS: 'v1' })).toThrowError(
      /COFFER_LOCAL_CGROUPS must be one of auto, off, required/,
    );
  });

  it('sizes the limits from the flavor', () => {
    expect(limitsOf({ vcpus: 2, ramMb: 1024 })).toEqual({
      memoryBytes: (1024 + GUEST_AGENT_HEADROOM_MB) * 1024 * 1024,
      cpuQuotaUs: 200_000,
      cpuPeriodUs: 100_000,
      pidsMax: 4096,
    });
  });
});

describe.skipIf(probe.version === null)(
  `an instance's cgroup (${probe.version ?? probe.reason})`,
  () => {
    it('is made with the limits, holds a process and its children, and is removed leaving nothing', async () => {
      const cgroups = cgroupsForTest();
      const id = newId();
      expect(cgroups.exists(id)).toBe(false);
      const procs = cgroups.prepare(id, { vcpus: 1, ramMb: 256 });
      expect(procs.length).toBeGreaterThan(0);
      for (const file of procs) expect(existsSync(file)).toBe(true);
      expect(cgroups.stats(id)).toMatchObject({
        memoryLimitBytes: (256 + GUEST_AGENT_HEADROOM_MB) * 1024 * 1024,
        cpuQuotaUs: 100_000,
        cpuPeriodUs: 100_000,
        pidsMax: 4096,
      });
      // Again: the same limits, nothing else changes.
      expect(cgroups.prepare(id, { vcpus: 1, ramMb: 256 })).toEqual(procs);

      const pid = startProcess(procs);
      await waitUntil(() => cgroups.pids(id).includes(pid));
      expect(cgroupOf(pid, 'memory')).toBe(`/${parent}/${id}`);
      expect(cgroupOf(pid, 'cpu')).toBe(`/${parent}/${id}`);

      // A process started outside, then moved in by join (as a guest adopted after an upgrade).
      const outside = startProcess([]);
      await waitUntil(() => existsSync(`/proc/${outside}/cgroup`));
      expect(cgroups.pids(id)).not.toContain(outside);
      cgroups.join(id, [outside]);
      expect(cgroups.pids(id)).toContain(outside);
      expect(descendantsOf(process.pid)).toEqual(expect.arrayContaining([pid, outside]));

      await cgroups.remove(id);
      expect(cgroups.exists(id)).toBe(false);
      for (const file of procs) expect(existsSync(file)).toBe(false);
      // The processes left in it were killed, and the test's parent went with its last child.
      await waitUntil(() => !isAlive(pid) && !isAlive(outside));
      for (const file of procs) expect(existsSync(join(file, '..', '..'))).toBe(false);
      // Idempotent.
      await cgroups.remove(id);
    });

    it('resizes in place, and asks for a restart rather than a kill when memory would shrink below use', async () => {
      const cgroups = cgroupsForTest();
      const id = newId();
      const procs = cgroups.prepare(id, { vcpus: 1, ramMb: 512 });
      const pid = startProcess(procs, 200);
      await waitUntil(() => (cgroups.stats(id)?.memoryAnonBytes ?? 0) > 200 * 1024 * 1024);

      expect(cgroups.resize(id, { vcpus: 2, ramMb: 1024 })).toBe('applied');
      expect(cgroups.stats(id)).toMatchObject({
        memoryLimitBytes: (1024 + GUEST_AGENT_HEADROOM_MB) * 1024 * 1024,
        cpuQuotaUs: 200_000,
      });
      // Idempotent.
      expect(cgroups.resize(id, { vcpus: 2, ramMb: 1024 })).toBe('applied');

      // 200 MB in use cannot fit under 32 + 128 MB: nothing changes, nothing is killed.
      expect(cgroups.resize(id, { vcpus: 1, ramMb: 32 })).toBe('needs-restart');
      expect(cgroups.stats(id)?.memoryLimitBytes).toBe(
        (1024 + GUEST_AGENT_HEADROOM_MB) * 1024 * 1024,
      );
      expect(cgroups.pids(id)).toContain(pid);
      expect(cgroups.stats(id)?.oomKills ?? 0).toBe(0);

      // Once the process is gone, the smaller limit fits.
      process.kill(pid, 'SIGKILL');
      await waitUntil(() => cgroups.pids(id).length === 0);
      // Its memory is counted off (the kernel's figures may lag by a moment).
      await waitUntil(() => (cgroups.stats(id)?.memoryAnonBytes ?? 0) < 100 * 1024 * 1024);
      expect(cgroups.resize(id, { vcpus: 1, ramMb: 32 })).toBe('applied');
      expect(cgroups.stats(id)?.memoryLimitBytes).toBe(
        (32 + GUEST_AGENT_HEADROOM_MB) * 1024 * 1024,
      );
      expect(cgroups.resize(randomUUID(), { vcpus: 1, ramMb: 32 })).toBe('absent');
    });

    it('holds a process to the memory limit: the OOM killer ends it, the peak stays under', async () => {
      const cgroups = cgroupsForTest();
      const id = newId();
      const procs = cgroups.prepare(id, { vcpus: 1, ramMb: 64 });
      const limit = cgroups.stats(id)!.memoryLimitBytes!;
      // 400 MB asked for under a 192 MB limit.
      const pid = startProcess(procs, 400);
      await waitUntil(() => !isAlive(pid), 30_000);
      const stats = cgroups.stats(id)!;
      expect(stats.oomKills).toBeGreaterThanOrEqual(1);
      expect(stats.memoryPeakBytes).toBeLessThanOrEqual(limit);
    });
  },
);
