// Bundles the guest agent so it runs with plain `node` (no TypeScript loader in memory) and can
// be packed on its own into a VM image: dist/guest.mjs, a small loader (src/loader.ts), loads
// the agent, one CommonJS file dist/chunks/agent-<hash>.cjs (src/agent-bundle.ts), with the V8
// code cache the build makes beside it (agent-<hash>.cjs.<runtime key>.cache).
import { execFileSync } from 'node:child_process';
import { build, transform } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Guests start from dist/ while it is rebuilt (a test run's type check and its VM image build
// both bundle again while other tests start guests): the bundle is written to a directory of its
// own, then each file renamed into dist/ (chunks first, the entry last), never truncated or
// removed under a reader. Chunk names carry hashes: one that the new entry does not reach and
// that no guest can still be loading (older than ten minutes) is removed.
const dist = path.join(root, 'dist');
const staging = path.join(root, `.dist-${process.pid}`);
fs.rmSync(staging, { recursive: true, force: true });

// The agent: one CommonJS file (a vm.Script can take V8's code cache; an ES module cannot in
// Node 20), named after its content. Its dynamic imports stay lazy: esbuild evaluates each such
// module on its first import, so the early install starts before the agent's modules evaluate.
const agent = await build({
  entryPoints: { agent: path.join(root, 'src/agent-bundle.ts') },
  outdir: path.join(staging, 'chunks'),
  entryNames: '[name]-[hash]',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  // Native add-ons that the bundled code loads optionally (and works without).
  external: ['msgpackr-extract', 'pino-pretty'],
});
const agentFile = Object.keys(agent.metafile.outputs).find((file) => file.endsWith('.cjs'));
// The loader: dist/guest.mjs, the entry (ESM: a VM image's boot script imports it).
const loader = await build({
  entryPoints: { guest: path.join(root, 'src/loader.ts') },
  outdir: staging,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  define: {
    COFFER_AGENT_BUNDLE: JSON.stringify(`./chunks/${path.basename(agentFile)}`),
  },
});
// The code cache, made by the loader itself with the guest's own Node flags (GUEST_NODE_FLAGS
// of src/launch.ts): V8 refuses a cache made with other flags.
const launch = await transform(fs.readFileSync(path.join(root, 'src/launch.ts'), 'utf8'), {
  loader: 'ts',
  format: 'esm',
});
const launchModule = path.join(staging, 'launch.mjs');
fs.writeFileSync(launchModule, launch.code);
const { GUEST_NODE_FLAGS } = await import(pathToFileURL(launchModule).href);
fs.rmSync(launchModule);
execFileSync(
  process.execPath,
  [...GUEST_NODE_FLAGS, path.join(staging, 'guest.mjs'), '--make-code-cache'],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
const result = {
  metafile: { outputs: { ...agent.metafile.outputs, ...loader.metafile.outputs } },
};

function filesUnder(dir) {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}
// The entry last: a guest that starts meanwhile finds the agent and its cache in place.
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
