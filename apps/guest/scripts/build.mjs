// Bundles the guest agent into one file, dist/guest.mjs, so it runs with plain `node`
// (no TypeScript loader in memory) and can be packed on its own into a VM image.
import { build } from 'esbuild';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const result = await build({
  entryPoints: [path.join(root, 'src/main.ts')],
  outfile: path.join(root, 'dist/guest.mjs'),
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
