import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

import { GUEST_POOL_DIR } from '@coffer/compute';
import { GUEST_ENV } from '@coffer/guest/launch';
import { isAlive, isMariadbd, processesMentioning, readPid } from '@coffer/testing/processes';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { tenantQuery } from '../test/backups';
import { ChildWorker, killChildWorkers } from '../test/child-worker';
import { TEST_TUNING, WorkerTestContext } from '../test/harness';

/**
 * Issue 18's fast creates: the local provider's warm pool of standby guests
 * (packages/compute local/guest-pool.ts). A create takes a started, loaded guest agent and
 * gives it the instance; the real guest, mariadbd and worker throughout.
 */

const ctx = new WorkerTestContext({ name: 'guest-pool', guestPool: 2 });
const poolDir = join(ctx.dataDir, GUEST_POOL_DIR);
const children: ChildWorker[] = [];

beforeAll(async () => {
  await ctx.setUp();
});

afterEach(() => killChildWorkers(children));

afterAll(() => ctx.closeLeavingNothing());

/** Live guests started as standbys of this test's pool (their command line: `--standby <pool dir>`), assigned or not. */
function standbyBornPids(): number[] {
  return processesMentioning(`--standby ${poolDir}`).map(({ pid }) => pid);
}

/** Those still waiting (in the pool's directory; an assigned one works in its instance's root). */
function standbyPids(): number[] {
  return standbyBornPids().filter((pid) => cwdOf(pid) === poolDir);
}

function cwdOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return null;
  }
}

/** Standbys that said they are ready (their logs are `<…>.ready.log` until taken). */
function readyFiles(): string[] {
  return existsSync(poolDir)
    ? readdirSync(poolDir).filter((name) => name.endsWith('.ready.log'))
    : [];
}

function guestPidOf(instanceId: string): number {
  const pid = readPid(join(ctx.instanceDir(instanceId), 'run', 'guest.pid'));
  expect(pid).not.toBeNull();
  return pid!;
}

/** The nice value of every thread of a process (field 19 of /proc/<pid>/task/<tid>/stat). */
function niceOfThreads(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

/** The environment a process was started with. */
function environOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

describe('the warm pool of standby guests', () => {
  // Standbys load at nice 19: on a saturated machine (npm test) a fill takes a while.
  it(
    'gives creates started guests: confined, at the worker priority, logging to the instance; refills',
    {
      timeout: 400_000,
    },
    async () => {
      const worker = await ctx.startWorker();
      await waitFor(() => ctx.provider.guestPool?.readyCount === 2, {
        timeoutMs: 180_000,
        what: 'two standby guests ready',
      });
      const standbys = standbyPids();
      expect(standbys).toHaveLength(2);
      expect(readyFiles()).toHaveLength(2);

      const created = await Promise.all([ctx.createInstance(), ctx.createInstance()]);
      await Promise.all(created.map((each) => ctx.waitForActive(each.instanceId)));

      for (const each of created) {
        const root = ctx.instanceDir(each.instanceId);
        const guest = guestPidOf(each.instanceId);
        // The instance's guest is one of the standbys, now working in the instance's root.
        expect(standbys).toContain(guest);
        expect(readlinkSync(`/proc/${guest}/cwd`)).toBe(root);
        // At the worker's own priority, every thread (a standby waits at nice 19 as root).
        expect(new Set(niceOfThreads(guest))).toEqual(new Set([niceOfThreads(process.pid)[0]]));
        // In the instance's cgroup, with its database server (a child it started).
        if (ctx.provider.cgroups.version !== null) {
          // Every controller's hierarchy (v1), or the one (v2).
          const groups = readFileSync(`/proc/${guest}/cgroup`, 'utf8').split('\n');
          for (const controller of ctx.provider.cgroups.controllers) {
            const line = groups.find((entry) =>
              entry.split(':')[1]?.split(',').includes(controller),
            );
            expect(line ?? groups.find((entry) => entry.startsWith('0::'))).toContain(
              each.instanceId,
            );
          }
        }
        const server = processesMentioning(root).find(isMariadbd);
        expect(server).toBeDefined();
        expect(parentOf(server!.pid)).toBe(guest);
        // Started with the guest's allocator settings, which its database server does not get
        // (glibc cuts the variable at its colons as it reads it, in place: joined back here).
        expect(environOf(guest).join(':')).toContain(`GLIBC_TUNABLES=${GUEST_ENV.GLIBC_TUNABLES}`);
        expect(environOf(server!.pid).filter((entry) => entry.startsWith('GLIBC_'))).toEqual([]);
        expect(new Set(niceOfThreads(server!.pid))).toEqual(new Set(niceOfThreads(guest)));
        // Its log is the instance's: the standby's file, renamed.
        const log = readFileSync(join(root, 'log', 'guest.log'), 'utf8');
        expect(log).toContain(each.instanceId);
        expect(await tenantQuery(ctx, each.instanceId, each, 'SELECT DATABASE() AS db')).toEqual([
          { db: each.databaseName },
        ]);
      }

      // The pool makes two new standbys once the creates are over.
      await waitFor(() => ctx.provider.guestPool?.readyCount === 2, {
        timeoutMs: 180_000,
        what: 'the pool refilled',
      });
      expect(standbyPids().filter((pid) => !standbys.includes(pid))).toHaveLength(2);

      // Deleting an instance stops its standby-born guest and server.
      const [first] = created;
      const firstGuest = guestPidOf(first!.instanceId);
      await ctx.deleteAndExpectGone(first!.instanceId);
      expect(isAlive(firstGuest)).toBe(false);

      // Stopped, the pool leaves no standby and no file; the other instance runs on.
      await worker.stop();
      await ctx.provider.close();
      expect(standbyPids()).toEqual([]);
      expect(readdirSync(poolDir)).toEqual([]);
      const second = guestPidOf(created[1]!.instanceId);
      expect(isAlive(second)).toBe(true);
      await ctx.provider.deleteServer(created[1]!.instanceId);
      expect(isAlive(second)).toBe(false);
    },
  );

  it(
    'dies with a killed worker, whose assigned guests run on and are found by the next process',
    {
      timeout: 400_000,
    },
    async () => {
      const child = new ChildWorker({
        env: ctx.workerEnv({ LOG_LEVEL: 'info' }),
        names: ctx.names,
        tuning: TEST_TUNING,
        processEnv: { COFFER_LOCAL_GUEST_POOL: '1' },
      });
      children.push(child);
      await child.ready();
      await waitFor(() => readyFiles().length === 1, {
        timeoutMs: 180_000,
        what: 'the child worker’s standby ready',
      });
      const [standby] = standbyPids();

      const created = await ctx.createInstance();
      await ctx.waitForActive(created.instanceId);
      const guest = guestPidOf(created.instanceId);
      expect(guest).toBe(standby);
      // The next standby, made once the create is over.
      await waitFor(() => readyFiles().length === 1 && standbyPids().length === 1, {
        timeoutMs: 180_000,
        what: 'a new standby',
      });
      expect(standbyPids()).not.toContain(guest);

      child.process.kill('SIGKILL');
      await child.exited;
      // The waiting standby follows its worker; the assigned guest does not.
      await waitFor(() => standbyPids().length === 0, {
        timeoutMs: 10_000,
        what: 'the unassigned standby to exit',
      });
      expect(standbyBornPids()).toEqual([guest]);

      // Another process's provider (this test's: no pool) knows the guest as the instance's: it
      // is not started twice, and a delete stops it.
      expect(await ctx.provider.ensureServerRunning(created.instanceId)).toMatchObject({
        state: 'running',
      });
      expect(guestPidOf(created.instanceId)).toBe(guest);
      await ctx.provider.deleteServer(created.instanceId);
      expect(isAlive(guest)).toBe(false);
      expect(standbyBornPids()).toEqual([]);
    },
  );
});
