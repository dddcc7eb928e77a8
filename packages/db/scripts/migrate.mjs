#!/usr/bin/env node
// Coffer's migration tool: Prisma's schema engine (Wasm build) over @prisma/adapter-pg,
// standing in for `prisma migrate`, whose native engine these machines cannot download.
// Same migration folders, same `_prisma_migrations` table. See packages/db/README.md.
import path from 'node:path';
import {
  MigrateError,
  checkMigrations,
  createMigration,
  deployMigrations,
  migrationStatus,
  paths,
  resetDatabase,
  resolveMigration,
} from '../src/migrate/schema-engine.mjs';

const USAGE = `usage: node packages/db/scripts/migrate.mjs <command> [--verbose] [--schema=<file>] [--migrations=<dir>]

  create <name> [--empty]  write prisma/migrations/<timestamp>_<name>/migration.sql with the
                           changes schema.prisma makes to the migrations (--empty: an empty
                           migration to write by hand)
  deploy                   apply the migrations the database does not have yet
  status                   compare the database's migration history with the folder
                           (exit 1 unless up to date)
  check                    fail unless the migrations produce exactly schema.prisma (CI)
  resolve --applied <name> | --rolled-back <name>
                           record a migration as applied by hand, or a failed one as
                           rolled back so that deploy runs it again (prisma migrate resolve)
  reset --force            drop everything in the database and apply every migration
                           (development databases only; refused when NODE_ENV=production)

DATABASE_URL names the database. create and check only use its server, to replay the
migrations into a temporary shadow database (the role needs CREATEDB).`;

const args = process.argv.slice(2);
const flags = new Set(args.filter((arg) => arg.startsWith('--') && !arg.includes('=')));
const options = Object.fromEntries(
  args
    .filter((arg) => arg.startsWith('--') && arg.includes('='))
    .map((arg) => [arg.slice(2, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]),
);
const [command, ...positional] = args.filter((arg) => !arg.startsWith('--'));
const verbose = flags.has('--verbose');
// Other locations than this package's (for tests and tools).
const schemaPath = path.resolve(options.schema ?? paths.schema);
const migrationsDir = path.resolve(options.migrations ?? paths.migrations);
for (const name of Object.keys(options)) {
  if (name !== 'schema' && name !== 'migrations') {
    console.error(`unknown option --${name}=`);
    process.exit(2);
  }
}
const relative = (file) => path.relative(process.cwd(), file) || '.';

function fail(message, code = 1) {
  console.error(`✗ ${message}`);
  process.exit(code);
}

function databaseUrl() {
  const url = process.env.DATABASE_URL;
  if (!url) fail('DATABASE_URL is not set: point it at the PostgreSQL database to migrate');
  if (!/^postgres(ql)?:\/\//.test(url)) fail('DATABASE_URL must be a postgresql:// URL');
  return url;
}

const log = verbose ? (line) => console.error(`[schema-engine] ${line}`) : undefined;

function indent(text, maxLines = Infinity) {
  const lines = text.trimEnd().split('\n');
  const shown = lines.slice(0, maxLines).map((line) => `    ${line}`);
  if (lines.length > maxLines) shown.push(`    … (${lines.length - maxLines} more lines)`);
  return shown.join('\n');
}

const commands = {
  async create() {
    const [name, extra] = positional;
    if (!name || extra) fail('create needs one migration name, e.g. create add_backups', 2);
    const created = await createMigration({
      url: databaseUrl(),
      log,
      name,
      schemaPath,
      migrationsDir,
      empty: flags.has('--empty'),
    });
    if (!created) {
      console.log(
        'No changes: schema.prisma already matches the migrations. Nothing created (use --empty for a hand-written migration).',
      );
      return;
    }
    console.log(`✓ created ${relative(created.file)}`);
    console.log('  Review it, then apply it with `node packages/db/scripts/migrate.mjs deploy`');
    console.log(
      '  and regenerate the client with `node packages/db/scripts/prisma.mjs generate`. Commit both files.',
    );
  },

  async deploy() {
    const { applied, total } = await deployMigrations({ url: databaseUrl(), log, migrationsDir });
    if (applied.length === 0)
      console.log(`✓ database is up to date (${total} migration${total === 1 ? '' : 's'})`);
    else
      console.log(
        `✓ applied ${applied.length} migration${applied.length === 1 ? '' : 's'}: ${applied.join(', ')}`,
      );
  },

  async status() {
    const { upToDate, local, diagnosis } = await migrationStatus({
      url: databaseUrl(),
      log,
      migrationsDir,
    });
    console.log(
      `${local.length} migration${local.length === 1 ? '' : 's'} in ${relative(migrationsDir)}`,
    );
    if (!diagnosis.hasMigrationsTable)
      console.log('The database has no _prisma_migrations table: no migration was ever applied.');
    const history = diagnosis.history;
    if (history?.diagnostic === 'databaseIsBehind') {
      console.log(`Not yet applied:\n${indent(history.unappliedMigrationNames.join('\n'))}`);
    } else if (history?.diagnostic === 'migrationsDirectoryIsBehind') {
      console.log(
        `Applied to the database but missing from the folder:\n${indent(history.unpersistedMigrationNames.join('\n'))}`,
      );
    } else if (history?.diagnostic === 'historiesDiverge') {
      console.log(`The histories diverge after ${history.lastCommonMigrationName ?? 'the start'}.`);
      if (history.unappliedMigrationNames.length)
        console.log(`Not yet applied:\n${indent(history.unappliedMigrationNames.join('\n'))}`);
      if (history.unpersistedMigrationNames.length) {
        console.log(
          `Applied but missing from the folder:\n${indent(history.unpersistedMigrationNames.join('\n'))}`,
        );
      }
    }
    if (diagnosis.failedMigrationNames.length) {
      console.log(
        `Failed (fix the database by hand, then mark it rolled back or applied):\n${indent(diagnosis.failedMigrationNames.join('\n'))}`,
      );
    }
    if (diagnosis.editedMigrationNames.length) {
      console.log(
        `Changed since they were applied:\n${indent(diagnosis.editedMigrationNames.join('\n'))}`,
      );
    }
    if (upToDate) console.log('✓ database is up to date');
    else process.exitCode = 1;
  },

  async check() {
    const { ok, problems, script } = await checkMigrations({
      url: databaseUrl(),
      log,
      schemaPath,
      migrationsDir,
    });
    if (ok) {
      console.log(`✓ the migrations in ${relative(migrationsDir)} produce exactly schema.prisma`);
      return;
    }
    for (const problem of problems) console.error(`✗ ${problem}`);
    if (script) {
      console.error(`\n  The migration that is missing would be:\n\n${indent(script, 60)}\n`);
      console.error(
        '  Create it with: node packages/db/scripts/migrate.mjs create <name>   (and commit it)',
      );
    }
    process.exitCode = 1;
  },

  async resolve() {
    const [name, extra] = positional;
    const as = flags.has('--applied')
      ? 'applied'
      : flags.has('--rolled-back')
        ? 'rolled-back'
        : null;
    if (!name || extra || !as || (flags.has('--applied') && flags.has('--rolled-back'))) {
      fail('resolve needs --applied <name> or --rolled-back <name>', 2);
    }
    await resolveMigration({ url: databaseUrl(), log, migrationsDir, name, as });
    console.log(`✓ ${name} recorded as ${as === 'applied' ? 'applied' : 'rolled back'}`);
  },

  async reset() {
    if (process.env.NODE_ENV === 'production') fail('reset is refused when NODE_ENV=production');
    if (!flags.has('--force'))
      fail(
        'reset drops every table and all data in DATABASE_URL; run it with --force if you mean it',
        2,
      );
    const { applied } = await resetDatabase({ url: databaseUrl(), log, migrationsDir });
    console.log(
      `✓ database reset; applied ${applied.length} migration${applied.length === 1 ? '' : 's'}`,
    );
  },
};

if (flags.has('--help') || command === 'help') {
  console.log(USAGE);
  process.exit(0);
}
if (!command || !Object.hasOwn(commands, command)) {
  if (command) console.error(`unknown command "${command}"\n`);
  console.error(USAGE);
  process.exit(2);
}

try {
  await commands[command]();
} catch (error) {
  if (error instanceof MigrateError) {
    if (verbose && error.cause) console.error(error.cause);
    fail(`${command} failed: ${error.message}`);
  }
  throw error;
}
// Exit now: the engine leaves a 10 s timer behind (its advisory-lock timeout), which would
// otherwise keep the process alive after the work is done.
process.exit(process.exitCode ?? 0);
