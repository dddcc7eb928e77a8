// Bundles the guest agent into one file, dist/guest.mjs, so it runs with plain `node`
// (no TypeScript loader in memory) and can be packed on its own into a VM image.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Guests start from dist/ while it is rebuilt (a test run's type check and its VM image build
// both bundle again while other tests start guests): the bundle is written to a directory of its
// own, then each file renamed into dist/ (chunks first, the entry last), never truncated or
// removed under a reader. Chunk names carry hashes: one that the new entry does not reach and
// that no guest can still be loading (older than ten minutes) is removed.
const dist = path.join(root, 'dist');
const staging = path.join(root, `.dist-${process.pid}`);
fs.rmSync(staging, { recursive: true, force: true });

const result = await build({
  // The entry stays small (it starts the early install); the agent itself is a chunk that
  // main.ts imports dynamically, so Node loads it while mariadb-install-db runs.
  entryPoints: { guest: path.join(root, 'src/main.ts') },
  outdir: staging,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  // .mjs everywhere: the dist folder runs as ESM on its own (e.g. copied into a VM image).
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  // Native add-ons that the bundled code loads optionally (and works without).
  external: ['msgpackr-extract', 'pino-pretty'],
  // CommonJS dependencies call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __cofferCreateRequire } from 'node:module'; const require = __cofferCreateRequire(import.meta.url);",
  },
});

function filesUnder(dir) {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}
const written = filesUnder(staging).sort(
  (a, b) => Number(a.startsWith('guest.')) - Number(b.startsWith('guest.')),
);
for (const file of written) {
  fs.mkdirSync(path.dirname(path.join(dist, file)), { recursive: true });
  fs.renameSync(path.join(staging, file), path.join(dist, file));
}
fs.rmSync(staging, { recursive: true, force: true });
const kept = new Set(written);
const staleBefore = Date.now() - 10 * 60_000;
for (const file of filesUnder(dist)) {
  const at = path.join(dist, file);
  if (!kept.has(file) && fs.statSync(at).mtimeMs < staleBefore) fs.rmSync(at, { force: true });
}

const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
process.stdout.write(
  `apps/guest/dist/guest.mjs: ${(bytes / 1024).toFixed(0)} KiB (with source map)\n`,
);
