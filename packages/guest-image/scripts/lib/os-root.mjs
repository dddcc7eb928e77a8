// The expensive part of the image: a Debian 12 root made by mmdebstrap (the kernel, systemd,
// MariaDB and their dependencies from Debian's repositories), cached under a hash of what
// makes it (package list, hooks, mmdebstrap's options, suite, apt sources), so a rebuild only
// assembles the agent layer on top.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BuildError, progress, run } from './run.mjs';

const OS_DIR = fileURLToPath(new URL('../../os/', import.meta.url));
export const SUITE = 'bookworm';

/** Debian's repositories as apt is configured on this machine, else deb.debian.org. */
function aptSources() {
  const file =
    process.env.COFFER_GUEST_IMAGE_APT_SOURCES ?? '/etc/apt/sources.list.d/debian.sources';
  if (existsSync(file)) return { file, text: readFileSync(file, 'utf8') };
  const text = [
    `deb http://deb.debian.org/debian ${SUITE} main`,
    `deb http://deb.debian.org/debian ${SUITE}-updates main`,
    `deb http://deb.debian.org/debian-security ${SUITE}-security main`,
  ].join('\n');
  return { file: undefined, text };
}

export function osPackages() {
  return readFileSync(join(OS_DIR, 'packages.txt'), 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);
}

/** mmdebstrap's options (the target and sources come after). */
function mmdebstrapOptions() {
  return [
    '--mode=root',
    '--variant=apt',
    '--format=directory',
    `--include=${osPackages().join(',')}`,
    '--aptopt=Acquire::Check-Valid-Until "false"',
    '--dpkgopt=path-exclude=/usr/share/doc/*',
    '--dpkgopt=path-exclude=/usr/share/man/*',
    '--dpkgopt=path-exclude=/usr/share/locale/*',
    '--dpkgopt=path-include=/usr/share/locale/locale.alias',
    '--dpkgopt=path-exclude=/usr/share/info/*',
    `--essential-hook=sh ${join(OS_DIR, 'essential.sh')} "$1"`,
    `--customize-hook=sh ${join(OS_DIR, 'customize.sh')} "$1"`,
  ];
}

/** The cache key: everything that decides what the root holds (options, package list, hooks, sources). */
export function osRootKey() {
  const hash = createHash('sha256');
  for (const part of [
    SUITE,
    // the same key wherever the checkout is
    ...mmdebstrapOptions().map((option) => option.replaceAll(OS_DIR, 'os/')),
    readFileSync(join(OS_DIR, 'essential.sh'), 'utf8'),
    readFileSync(join(OS_DIR, 'customize.sh'), 'utf8'),
    aptSources().text,
  ])
    hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/**
 * The cached root for the current key, made when missing: `<cacheDir>/os-<key>/root`, with
 * `ready.json` written last (a build killed half-way leaves no ready root). Older roots are
 * removed once a new one is ready.
 */
/**
 * Removes a root directory safely: mmdebstrap mounts /proc, /sys and /dev inside the root
 * while it builds, so a build killed half-way may leave them mounted; they are unmounted
 * first, and `rm --one-file-system` never crosses into a mount that is left.
 */
async function removeRoot(dir) {
  if (!existsSync(dir)) return;
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point) => point && (point === dir || point.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) await run('umount', ['--lazy', point]);
  await run('rm', ['-rf', '--one-file-system', dir]);
}

export async function ensureOsRoot(cacheDir) {
  const key = osRootKey();
  const dir = join(cacheDir, `os-${key}`);
  const ready = join(dir, 'ready.json');
  if (existsSync(ready)) {
    progress(`OS root: cached (${dir})`);
    return { key, root: join(dir, 'root'), ...JSON.parse(readFileSync(ready, 'utf8')) };
  }
  const temp = `${dir}.partial`;
  await removeRoot(temp);
  mkdirSync(join(temp, 'root'), { recursive: true });
  const packages = osPackages();
  const sources = aptSources();
  progress(
    `OS root: mmdebstrap ${SUITE} with ${packages.length} packages (${packages.join(', ')}); a few minutes, once per package list`,
  );
  const started = Date.now();
  await run(
    'mmdebstrap',
    [...mmdebstrapOptions(), SUITE, join(temp, 'root'), sources.file ?? sources.text],
    { echo: process.env.COFFER_GUEST_IMAGE_VERBOSE === '1' },
  );
  const boot = join(temp, 'root', 'boot');
  const kernels = readdirSync(boot).filter((name) => name.startsWith('vmlinuz-'));
  if (kernels.length !== 1)
    throw new BuildError(`expected one kernel in ${boot}, found: ${kernels.join(', ') || 'none'}`);
  const kernelVersion = kernels[0].slice('vmlinuz-'.length);
  if (!existsSync(join(boot, `initrd.img-${kernelVersion}`)))
    throw new BuildError(`no initrd for kernel ${kernelVersion} in ${boot}`);
  const info = {
    suite: SUITE,
    packages,
    kernelVersion,
    mariadb: (
      await run(
        'chroot',
        [join(temp, 'root'), 'dpkg-query', '-W', '-f=${Version}', 'mariadb-server'],
        {
          capture: true,
        },
      )
    ).trim(),
    builtAt: new Date().toISOString(),
    buildSeconds: Math.round((Date.now() - started) / 1000),
  };
  writeFileSync(join(temp, 'ready.json'), `${JSON.stringify(info, null, 2)}\n`);
  await removeRoot(dir);
  renameSync(temp, dir);
  for (const name of readdirSync(cacheDir))
    if (name.startsWith('os-') && name !== `os-${key}`) await removeRoot(join(cacheDir, name));
  progress(
    `OS root: made in ${info.buildSeconds} s (kernel ${kernelVersion}, MariaDB ${info.mariadb})`,
  );
  return { key, root: join(dir, 'root'), ...info };
}
