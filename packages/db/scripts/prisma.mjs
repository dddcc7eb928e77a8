#!/usr/bin/env node
// The Prisma CLI, restricted to what works without Prisma's native engines:
//
//   node packages/db/scripts/prisma.mjs generate   generate the client into src/generated/prisma
//   node packages/db/scripts/prisma.mjs validate   check schema.prisma
//   node packages/db/scripts/prisma.mjs format     format schema.prisma
//
// The CLI downloads the native schema engine before these commands unless
// PRISMA_SCHEMA_ENGINE_BINARY names an existing file, so we point it at a stand-in that
// explains itself and exits 1 (generate/validate/format never run it). Migrations go
// through scripts/migrate.mjs instead. CHECKPOINT_DISABLE stops the update check.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ALLOWED = new Set(['generate', 'validate', 'format']);

const [command, ...rest] = process.argv.slice(2);
if (!command || !ALLOWED.has(command)) {
  const what = command ? `"prisma ${command}" is not available here` : 'no command given';
  console.error(`${what}: use generate, validate or format.`);
  if (command === 'migrate' || command === 'db') {
    console.error(
      'Migrations: node packages/db/scripts/migrate.mjs <create|deploy|status|check|reset> (see packages/db/README.md).',
    );
  }
  process.exit(command ? 1 : 2);
}

const require = createRequire(import.meta.url);
const cli = require.resolve('prisma/build/index.js');
const result = spawnSync(
  process.execPath,
  [cli, command, '--config', path.join(packageDir, 'prisma.config.ts'), ...rest],
  {
    cwd: packageDir,
    stdio: 'inherit',
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: path.join(packageDir, 'scripts', 'no-schema-engine'),
      CHECKPOINT_DISABLE: '1',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
    },
  },
);
if (result.error) {
  console.error(`could not run the Prisma CLI: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
