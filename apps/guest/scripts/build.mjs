// Bundles the guest agent into one file, dist/guest.mjs, so it runs with plain `node`
// (no TypeScript loader in memory) and can be packed on its own into a VM image.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// A fresh dist: chunk names carry hashes, so old ones would pile up.
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });

const result = await build({
  // The entry stays small (it starts the early install); the agent itself is a chunk that
  // main.ts imports dynamically, so Node loads it while mariadb-install-db runs.
  entryPoints: { guest: path.join(root, 'src/main.ts') },
  outdir: path.join(root, 'dist'),
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

const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
process.stdout.write(
  `apps/guest/dist/guest.mjs: ${(bytes / 1024).toFixed(0)} KiB (with source map)\n`,
);
