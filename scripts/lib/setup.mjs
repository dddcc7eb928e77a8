// Installs what Coffer needs on a Debian machine: system packages, npm dependencies and
// the generated Prisma client. Each step checks first, so re-running is cheap and safe.
import fs from 'node:fs';
import path from 'node:path';
import { SetupError, capture, hashFiles, isRoot, log, run } from './system.mjs';

/** Debian packages the control plane and the embedded services need. */
export const RUNTIME_PACKAGES = [
  'postgresql',
  'redis-server',
  'mariadb-server',
  'mariadb-backup',
  'zstd',
  // The local compute provider's firewall (instances' allowed sources): packages/compute/README.md.
  'nftables',
];
/**
 * Extra packages the test command needs: Playwright drives the system Chromium; the backup
 * tests run a real OpenStack Swift on loopback (its four servers, and memcached for tempauth);
 * the VM test builds the guest image (mmdebstrap, qemu-img) and boots it under QEMU with a
 * config drive (genisoimage): packages/guest-image/README.md.
 */
export const TEST_PACKAGES = [
  'chromium',
  'swift',
  'swift-proxy',
  'swift-account',
  'swift-container',
  'swift-object',
  'memcached',
  'mmdebstrap',
  'qemu-utils',
  'qemu-system-x86',
  'genisoimage',
];

function isPackageInstalled(name) {
  const status = capture('dpkg-query', ['-W', '-f=${Status}', name]);
  return status === 'install ok installed';
}

export function ensureSystemPackages(packages) {
  if (!fs.existsSync('/usr/bin/dpkg-query')) {
    log.warn(
      'not a Debian system: skipping system packages; install ' + packages.join(', ') + ' yourself',
    );
    return;
  }
  const missing = packages.filter((name) => !isPackageInstalled(name));
  if (missing.length === 0) {
    log.ok(`system packages present (${packages.join(', ')})`);
    return;
  }
  if (!isRoot) {
    throw new SetupError(
      `missing system packages: ${missing.join(', ')}.\n  Run as root, or install them: sudo apt-get install -y ${missing.join(' ')}`,
    );
  }
  log.step(`installing system packages: ${missing.join(', ')}`);
  // Keep the packages' own services from starting: Coffer runs private ones.
  const policyFile = '/usr/sbin/policy-rc.d';
  const hadPolicy = fs.existsSync(policyFile);
  if (!hadPolicy) fs.writeFileSync(policyFile, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    run('apt-get', ['update', '-q'], { env });
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env });
  } finally {
    if (!hadPolicy) fs.rmSync(policyFile, { force: true });
  }
  const stillMissing = missing.filter((name) => !isPackageInstalled(name));
  if (stillMissing.length)
    throw new SetupError(`apt-get did not install: ${stillMissing.join(', ')}`);
  log.ok(`installed ${missing.join(', ')}`);
}

/** `npm ci` when node_modules is missing or package-lock.json changed since the last install. */
export function ensureNodeModules(root) {
  const lockFile = path.join(root, 'package-lock.json');
  const stampFile = path.join(root, 'node_modules', '.coffer-install-stamp');
  const wanted = hashFiles([lockFile]);
  const current = fs.existsSync(stampFile) ? fs.readFileSync(stampFile, 'utf8').trim() : '';
  if (current === wanted) {
    log.ok('npm dependencies up to date');
    return;
  }
  log.step('installing npm dependencies (npm ci)');
  // Install scripts are not needed: native pieces come as per-platform packages, and
  // Prisma's postinstall would try to download engines this machine cannot reach.
  run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: root });
  fs.writeFileSync(stampFile, wanted);
  log.ok('npm dependencies installed');
}

/** Generates the Prisma client when the schema changed (or it was never generated). */
export function ensurePrismaClient(root) {
  const schema = path.join(root, 'packages/db/prisma/schema.prisma');
  const outDir = path.join(root, 'packages/db/src/generated/prisma');
  const stampFile = path.join(outDir, '.coffer-schema-stamp');
  const wanted = hashFiles([schema, path.join(root, 'package-lock.json')]);
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8').trim() === wanted) {
    log.ok('Prisma client up to date');
    return;
  }
  log.step('generating the Prisma client');
  run('node', [path.join(root, 'packages/db/scripts/prisma.mjs'), 'generate'], {
    cwd: root,
    quiet: true,
  });
  fs.writeFileSync(stampFile, wanted);
  log.ok('Prisma client generated');
}
