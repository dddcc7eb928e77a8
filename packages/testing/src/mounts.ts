import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * What a local provider's servers hold on the host besides processes, for a test run's last
 * clean-up when its servers were not deleted one by one: the loop-mounted volumes under a data
 * dir, and the instances' (empty, once their processes are killed) cgroups. A provider deletes
 * both with its servers (packages/compute); this is for what a run leaves when it stops.
 */

/** Unmounts (lazily) every mount below `dir`, deepest first, and detaches their loop devices; returns how many. */
export function unmountUnder(dir: string): number {
  const base = `${resolve(dir)}/`;
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields.length > 2)
    // /proc/mounts escapes spaces and the like as octal (\040).
    .map(([source, target]) => ({
      source: source!,
      target: target!.replace(/\\([0-7]{3})/g, (_, code: string) =>
        String.fromCharCode(parseInt(code, 8)),
      ),
    }))
    .filter((mount) => mount.target.startsWith(base))
    .sort((a, b) => b.target.length - a.target.length);
  for (const mount of mounts) {
    run('umount', ['-l', mount.target]);
    if (mount.source.startsWith('/dev/loop')) run('losetup', ['-d', mount.source]);
  }
  return mounts.length;
}

/**
 * Removes the cgroups of the instances under `<dataDir>/instances/` (`coffer/<id>` in each cgroup
 * v1 hierarchy, or in the v2 tree), once their processes are gone; returns how many.
 */
export function removeInstanceCgroups(dataDir: string): number {
  const instancesDir = join(dataDir, 'instances');
  if (!existsSync(instancesDir)) return 0;
  const roots = existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? ['/sys/fs/cgroup']
    : readdirSync('/sys/fs/cgroup', { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => join('/sys/fs/cgroup', entry.name));
  let removed = 0;
  for (const id of readdirSync(instancesDir)) {
    for (const root of roots) {
      const group = join(root, 'coffer', id);
      if (!existsSync(group)) continue;
      try {
        rmdirSync(group);
        removed += 1;
      } catch {
        // Still has processes, or not ours to remove.
      }
    }
  }
  return removed;
}

function run(command: string, args: string[]): void {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
  } catch {
    // Gone already, or nothing to do.
  }
}
