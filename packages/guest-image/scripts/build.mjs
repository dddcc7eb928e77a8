// npm run image:build: the Coffer guest image (packages/guest-image/README.md).
//   node --import tsx packages/guest-image/scripts/build.mjs [--compress]
// Writes coffer-guest.qcow2, coffer-guest.vmlinuz, coffer-guest.initrd and coffer-guest.json
// to the output dir. The OS root is cached in the cache dir; a rebuild assembles the agent
// layer only.
import { copyFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { buildGuestBundle, stageRoot } from './lib/agent-layer.mjs';
import { convertToQcow2, makeRawDisk, ROOT_LABEL } from './lib/disk.mjs';
import { withLock } from './lib/lock.mjs';
import { ensureOsRoot } from './lib/os-root.mjs';
import { BuildError, progress, run } from './lib/run.mjs';

export const IMAGE_NAME = 'coffer-guest';
/** The kernel command line the image boots with (Glance property os_command_line). */
export const KERNEL_COMMAND_LINE = `root=LABEL=${ROOT_LABEL} rw console=ttyS0`;

const { values } = parseArgs({
  options: {
    compress: { type: 'boolean', default: false },
    'skip-guest-build': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'usage: npm run image:build [-- --compress] [--skip-guest-build]\n' +
      'env: COFFER_GUEST_IMAGE_CACHE_DIR (/var/cache/coffer/guest-image), COFFER_GUEST_IMAGE_OUT_DIR (<cache>/image),\n' +
      '     COFFER_GUEST_IMAGE_NODE (this node), COFFER_GUEST_IMAGE_APT_SOURCES, COFFER_GUEST_IMAGE_VERBOSE=1\n',
  );
  process.exit(0);
}

const cacheDir = resolve(
  process.env.COFFER_GUEST_IMAGE_CACHE_DIR ?? '/var/cache/coffer/guest-image',
);
const outDir = resolve(process.env.COFFER_GUEST_IMAGE_OUT_DIR ?? join(cacheDir, 'image'));

async function checkTools() {
  if (process.getuid?.() !== 0)
    throw new BuildError(
      'the build needs root (mmdebstrap --mode=root, file ownership in the image)',
    );
  for (const [tool, pkg] of [
    ['mmdebstrap', 'mmdebstrap'],
    ['mkfs.ext4', 'e2fsprogs'],
    ['qemu-img', 'qemu-utils'],
  ])
    await run('sh', ['-c', `command -v ${tool}`]).catch(() => {
      throw new BuildError(`${tool} is missing: apt-get install --no-install-recommends ${pkg}`);
    });
}

async function main() {
  const started = Date.now();
  await checkTools();
  mkdirSync(cacheDir, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  await withLock(join(cacheDir, 'build.lock'), async () => {
    if (!values['skip-guest-build']) await buildGuestBundle();
    const os = await ensureOsRoot(cacheDir);
    const osSeconds = (Date.now() - started) / 1000;
    const work = join(cacheDir, `work-${process.pid}`);
    mkdirSync(work, { recursive: true });
    try {
      const layer = await stageRoot(os.root, join(work, 'root'));
      const raw = join(work, `${IMAGE_NAME}.raw`);
      await makeRawDisk(join(work, 'root'), raw);
      const qcow2 = join(work, `${IMAGE_NAME}.qcow2`);
      const bytes = await convertToQcow2(raw, qcow2, { compress: values.compress });
      copyFileSync(
        join(os.root, 'boot', `vmlinuz-${os.kernelVersion}`),
        join(work, `${IMAGE_NAME}.vmlinuz`),
      );
      copyFileSync(
        join(os.root, 'boot', `initrd.img-${os.kernelVersion}`),
        join(work, `${IMAGE_NAME}.initrd`),
      );
      const manifest = {
        name: IMAGE_NAME,
        builtAt: new Date().toISOString(),
        os: { key: os.key, suite: os.suite, kernel: os.kernelVersion, mariadb: os.mariadb },
        node: layer.node,
        kernelCommandLine: KERNEL_COMMAND_LINE,
        files: {
          disk: `${IMAGE_NAME}.qcow2`,
          kernel: `${IMAGE_NAME}.vmlinuz`,
          initrd: `${IMAGE_NAME}.initrd`,
        },
        qcow2Bytes: bytes,
      };
      // the files replace the previous build's only once all are there
      for (const name of Object.values(manifest.files))
        renameSync(join(work, name), join(outDir, name));
      writeFileSync(join(outDir, `${IMAGE_NAME}.json`), `${JSON.stringify(manifest, null, 2)}\n`);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      progress(
        `done in ${seconds} s (OS root ${osSeconds.toFixed(1)} s): ${join(outDir, manifest.files.disk)} ` +
          `(${(bytes / 2 ** 20).toFixed(0)} MiB), kernel ${os.kernelVersion}, MariaDB ${os.mariadb}, Node ${layer.node}`,
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

main().catch((error) => {
  process.stderr.write(
    `image build failed: ${error instanceof BuildError ? error.message : (error?.stack ?? String(error))}\n`,
  );
  process.exit(1);
});
