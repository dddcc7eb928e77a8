// The guest image's boot step, run by start.ts before it loads the agent: finds
// the config drive Nova attached (`blkid -L config-2`), writes the two files the compute
// provider injected in its user data to /etc/coffer (the OpenStack provider's own parser,
// `filesOfUserData`), and puts the instance's volume (Cinder's, named in the server's
// metadata) under the datadir path of guest-agent.json: formatted when new, grown to its size.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { GUEST_CONFIG_DIR, filesOfUserData } from '@coffer/compute-openstack/injection';
import { GUEST_AGENT_CONFIG_FILE, GUEST_INFO_FILE } from '@coffer/contracts';

const LABEL = 'config-2';
const MOUNT = '/run/coffer-config-drive';
const DEVICE_WAIT_MS = 60_000;
/** Server metadata naming the volume (the OpenStack provider's `coffer-volume`). */
const META_VOLUME = 'coffer-volume';

function say(message: string): void {
  process.stdout.write(`coffer-config-drive: ${message}\n`);
}

export class BootError extends Error {}

function sh(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function trySh(command: string, args: string[]): string | undefined {
  try {
    return sh(command, args).trim();
  } catch {
    return undefined;
  }
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Polls `find` until it gives a value (udev may still be naming devices early in boot). */
function waitFor<T>(what: string, find: () => T | undefined, timeoutMs = DEVICE_WAIT_MS): T {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline)
      throw new BootError(`${what} did not appear within ${timeoutMs / 1000} s`);
    pause(250);
  }
}

function readDrive(): { userData: string; meta: Record<string, string> } {
  const device = waitFor(
    `a config drive labelled ${LABEL}`,
    () => trySh('blkid', ['-L', LABEL]) || undefined,
  );
  mkdirSync(MOUNT, { recursive: true });
  sh('mount', ['-o', 'ro', device, MOUNT]);
  try {
    const latest = join(MOUNT, 'openstack', 'latest');
    const userDataPath = join(latest, 'user_data');
    if (!existsSync(userDataPath))
      throw new BootError(`the config drive (${device}) has no openstack/latest/user_data`);
    const metaPath = join(latest, 'meta_data.json');
    const metaData = existsSync(metaPath)
      ? (JSON.parse(readFileSync(metaPath, 'utf8')) as { meta?: Record<string, string> })
      : {};
    say(`config drive ${device}`);
    return { userData: readFileSync(userDataPath, 'utf8'), meta: metaData.meta ?? {} };
  } finally {
    sh('umount', [MOUNT]);
  }
}

function writeAtomically(path: string, content: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const temp = `${path}.new`;
  writeFileSync(temp, content, { mode });
  chmodSync(temp, mode);
  renameSync(temp, path);
}

function writeGuestFiles(userData: string): { volumeDir: string } {
  const wanted = [GUEST_INFO_FILE, GUEST_AGENT_CONFIG_FILE].map((name) =>
    join(GUEST_CONFIG_DIR, name),
  );
  const files = filesOfUserData(userData).filter((file) => wanted.includes(file.path));
  for (const path of wanted)
    if (!files.some((file) => file.path === path))
      throw new BootError(`the user data does not carry ${path}`);
  for (const file of files) {
    writeAtomically(file.path, file.content, Number.parseInt(file.permissions, 8));
    say(`wrote ${file.path} (${file.permissions})`);
  }
  const agent = JSON.parse(files.find((f) => f.path === wanted[1])!.content) as {
    datastore?: { volumeDir?: string };
  };
  const volumeDir = agent.datastore?.volumeDir;
  if (!volumeDir?.startsWith('/'))
    throw new BootError(`${wanted[1]} names no absolute datastore.volumeDir`);
  return { volumeDir };
}

function isMounted(dir: string): boolean {
  return trySh('findmnt', ['-n', '-o', 'SOURCE', '--mountpoint', dir]) !== undefined;
}

/** Nova gives a Cinder volume's disk the volume id as its serial (virtio-blk keeps 20 characters). */
function mountVolume(volumeId: string | undefined, volumeDir: string): void {
  mkdirSync(volumeDir, { recursive: true, mode: 0o755 });
  if (!volumeId) {
    say(
      `no ${META_VOLUME} in the server's metadata: the datadir stays on the root disk (${volumeDir})`,
    );
    return;
  }
  const byId = `/dev/disk/by-id/virtio-${volumeId.slice(0, 20)}`;
  const device = waitFor(`the volume ${volumeId} (${byId})`, () =>
    existsSync(byId) ? byId : undefined,
  );
  if (isMounted(volumeDir)) {
    say(`volume already mounted at ${volumeDir}`);
  } else {
    const type = trySh('blkid', ['-o', 'value', '-s', 'TYPE', device]);
    if (!type) {
      say(`volume ${volumeId} is new: making an ext4 filesystem`);
      sh('mkfs.ext4', ['-q', '-L', 'coffer-data', '-m', '0', device]);
    } else if (type !== 'ext4') {
      throw new BootError(`volume ${volumeId} holds a ${type} filesystem, not ext4`);
    }
    sh('mount', ['-o', 'noatime', device, volumeDir]);
    say(`volume ${volumeId} mounted at ${volumeDir}`);
  }
  // Cinder extends the volume, the filesystem follows (online, a no-op when it fits).
  sh('resize2fs', [device]);
}

/** Everything the agent needs from the config drive, in place; throws a BootError saying what is missing. */
export function applyConfigDrive(): void {
  const { userData, meta } = readDrive();
  const { volumeDir } = writeGuestFiles(userData);
  mountVolume(meta[META_VOLUME], volumeDir);
}
