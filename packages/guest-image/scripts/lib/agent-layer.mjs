// The cheap part of the image, assembled on every build: Node (this machine's binary), the
// bundled guest agent, the config-drive boot step and the systemd units, added to a
// hard-linked copy of the cached OS root (the cache itself is never written).
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { GUEST_ENV, GUEST_NODE_FLAGS } from '@coffer/guest/launch';
import { build } from 'esbuild';

import { BuildError, progress, run } from './run.mjs';

const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));
const REPO = join(PACKAGE_DIR, '..', '..');
const GUEST_DIST = join(REPO, 'apps', 'guest', 'dist');
const LAYER = join(PACKAGE_DIR, 'layer');
const UNITS = ['coffer-guest.service'];

/** The Node binary the image carries: this machine's (Node 20+, as the project's engines ask). */
export function nodeBinary() {
  const path = process.env.COFFER_GUEST_IMAGE_NODE ?? process.execPath;
  let version;
  try {
    version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
  } catch (error) {
    throw new BuildError(
      `cannot run ${path} --version (COFFER_GUEST_IMAGE_NODE?): ${error.message}`,
    );
  }
  const major = Number(/^v(\d+)\./.exec(version)?.[1]);
  if (!(major >= 20))
    throw new BuildError(`${path} is Node ${version}: the guest needs Node 20 or later`);
  return { path, version };
}

export async function buildGuestBundle() {
  progress('guest agent: npm run build -w @coffer/guest');
  await run('npm', ['run', 'build', '-w', '@coffer/guest'], { cwd: REPO });
}

/** Every file under `dir`, as paths relative to it. */
function walk(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path, base) : [relative(base, path)];
  });
}

/** Writes `path` in the staged root without touching the hard-linked file it may replace. */
function put(root, path, write) {
  const target = join(root, path);
  mkdirSync(dirname(target), { recursive: true });
  rmSync(target, { force: true });
  write(target);
}

/**
 * `<stage>` becomes the OS root plus the agent layer. Returns what went in (for the
 * image's manifest).
 */
export async function stageRoot(osRoot, stage) {
  rmSync(stage, { recursive: true, force: true });
  progress('root: hard-linked copy of the cached OS root');
  await run('cp', ['-al', osRoot, stage]);

  const node = nodeBinary();
  put(stage, 'usr/local/bin/node', (target) => {
    copyFileSync(node.path, target);
    chmodSync(target, 0o755);
  });
  progress(`root: Node ${node.version} (${node.path})`);

  // The bundle without its source maps: the entry and its chunks, nothing else.
  put(stage, 'opt/coffer/guest', (target) =>
    cpSync(GUEST_DIST, target, { recursive: true, filter: (src) => !src.endsWith('.map') }),
  );
  const bundleFiles = walk(join(stage, 'opt/coffer/guest'));
  if (!bundleFiles.includes('guest.mjs'))
    throw new BuildError(`${GUEST_DIST} has no guest.mjs: npm run build -w @coffer/guest`);
  progress(`root: guest agent bundle (${bundleFiles.length} files) in /opt/coffer/guest`);

  const bootOut = join(stage, 'opt/coffer/boot/start.mjs');
  rmSync(bootOut, { force: true });
  await build({
    entryPoints: [join(PACKAGE_DIR, 'src/boot/start.ts')],
    outfile: bootOut,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    // Of the contracts, the injection code needs the file names only: not the whole index
    // (every schema and catalogue), which would take seconds to load on a VM without KVM.
    alias: { '@coffer/contracts': join(REPO, 'packages/contracts/src/guest-config.ts') },
  });
  progress(
    `root: the agent's entry with the config-drive step in /opt/coffer/boot (${(statSync(bootOut).size / 1024).toFixed(0)} KiB)`,
  );

  for (const path of walk(LAYER)) {
    let text = readFileSync(join(LAYER, path), 'utf8');
    text = text
      .replaceAll('@GUEST_NODE_FLAGS@', GUEST_NODE_FLAGS.join(' '))
      .replaceAll('@GUEST_GLIBC_TUNABLES@', GUEST_ENV.GLIBC_TUNABLES);
    put(stage, path, (target) =>
      writeFileSync(target, text, { mode: statSync(join(LAYER, path)).mode & 0o777 }),
    );
  }
  for (const unit of UNITS)
    put(stage, `etc/systemd/system/multi-user.target.wants/${unit}`, (target) =>
      symlinkSync(`/etc/systemd/system/${unit}`, target),
    );
  mkdirSync(join(stage, 'etc/coffer'), { recursive: true, mode: 0o700 });
  progress(`root: systemd units ${UNITS.join(', ')} enabled`);
  return { node: node.version, bundleFiles: bundleFiles.length };
}
