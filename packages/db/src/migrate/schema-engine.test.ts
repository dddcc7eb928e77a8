import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { getTestAdminUrl } from '../env';
import { quoteIdent, withDatabase } from './pg-adapter.mjs';
import {
  checkMigrations,
  createMigration,
  deployMigrations,
  diffMigrationsToSchema,
  migrationStatus,
  paths,
  readMigrationsList,
} from './schema-engine.mjs';

const run = promisify(execFile);
const migrateScript = fileURLToPath(new URL('../../scripts/migrate.mjs', import.meta.url));

const EXTRA_MODEL = `
model Extra {
  id   Int    @id @default(autoincrement())
  note String

  @@map("extras")
}
`;

let admin: pg.Client;
let tmp: string;
const databases: string[] = [];

/** An empty database of our own on the test server. */
async function emptyDatabase(): Promise<string> {
  const name = `coffer_test_${randomBytes(8).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
  databases.push(name);
  return withDatabase(getTestAdminUrl(), name);
}

async function tablesOf(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    );
    return rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}

async function shadowDatabases(): Promise<string[]> {
  const { rows } = await admin.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE 'prisma_migrate_shadow_db_%'",
  );
  return rows.map((row) => row.datname);
}

/** A copy of this package's schema and migrations, the schema with one more model. */
async function driftedCopy(): Promise<{ schemaPath: string; migrationsDir: string }> {
  const dir = await fs.mkdtemp(path.join(tmp, 'copy-'));
  const schemaPath = path.join(dir, 'schema.prisma');
  const migrationsDir = path.join(dir, 'migrations');
  await fs.writeFile(schemaPath, (await fs.readFile(paths.schema, 'utf8')) + EXTRA_MODEL);
  await fs.cp(paths.migrations, migrationsDir, { recursive: true });
  return { schemaPath, migrationsDir };
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: getTestAdminUrl() });
  await admin.connect();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'coffer-migrate-test-'));
});

afterAll(async () => {
  for (const name of databases)
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  await admin?.end();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

describe('the migrations folder', () => {
  it('has a lockfile and at least the initial migration', async () => {
    const list = await readMigrationsList();
    expect(list.lockfile.content).toMatch(/provider = "postgresql"/);
    expect(list.migrationDirectories.map((m) => m.path)).toContainEqual(
      expect.stringMatching(/^\d{14}_init$/),
    );
  });
});

describe('deploy', () => {
  it('applies every migration to an empty database, once, with Prisma-compatible checksums', async () => {
    const url = await emptyDatabase();
    const local = (await readMigrationsList()).migrationDirectories.map((m) => m.path);

    const before = await migrationStatus({ url });
    expect(before.upToDate).toBe(false);
    expect(before.diagnosis.hasMigrationsTable).toBe(false);

    const first = await deployMigrations({ url });
    expect(first.applied).toEqual(local);
    expect(await tablesOf(url)).toEqual(
      expect.arrayContaining(['users', 'accounts', 'instances', '_prisma_migrations']),
    );

    const second = await deployMigrations({ url });
    expect(second.applied).toEqual([]);
    expect((await migrationStatus({ url })).upToDate).toBe(true);

    // The same bookkeeping `prisma migrate deploy` does: sha256 of migration.sql.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{
        migration_name: string;
        checksum: string;
        finished_at: Date | null;
      }>(
        'SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name',
      );
      expect(rows.map((row) => row.migration_name)).toEqual(local);
      for (const row of rows) {
        const sql = await fs.readFile(
          path.join(paths.migrations, row.migration_name, 'migration.sql'),
        );
        expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
        expect(row.finished_at).not.toBeNull();
      }
    } finally {
      await client.end();
    }
  });
});

describe('check', () => {
  it('reports no drift between schema.prisma and the migrations, without touching the database it is given', async () => {
    const url = await emptyDatabase();
    const shadowsBefore = await shadowDatabases();

    const result = await checkMigrations({ url });

    expect(result).toEqual({ ok: true, problems: [], script: '' });
    // The migrations were replayed into a shadow database of our own, not into this one…
    expect(await tablesOf(url)).toEqual([]);
    // …and that shadow database is gone.
    expect(await shadowDatabases()).toEqual(shadowsBefore);
  });

  it('fails when schema.prisma has a change that no migration makes', async () => {
    const url = await emptyDatabase();
    const { schemaPath, migrationsDir } = await driftedCopy();

    const result = await checkMigrations({ url, schemaPath, migrationsDir });

    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/disagree/);
    expect(result.script).toMatch(/CREATE TABLE "extras"/);
  });

  it('fails when the lockfile is missing', async () => {
    const url = await emptyDatabase();
    const { migrationsDir } = await driftedCopy();
    await fs.rm(path.join(migrationsDir, 'migration_lock.toml'));

    const result = await checkMigrations({ url, migrationsDir });

    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/migration_lock\.toml is missing/);
  });

  it('exits 0 from the command line when they agree, and non-zero with the missing SQL when not', async () => {
    const url = await emptyDatabase();
    const env = { ...process.env, DATABASE_URL: url };

    const ok = await run(process.execPath, [migrateScript, 'check'], { env });
    expect(ok.stdout).toMatch(/produce exactly schema\.prisma/);

    const { schemaPath, migrationsDir } = await driftedCopy();
    const failed = await run(
      process.execPath,
      [migrateScript, 'check', `--schema=${schemaPath}`, `--migrations=${migrationsDir}`],
      {
        env,
      },
    ).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/schema\.prisma and the migrations disagree/);
    expect(failed?.stderr).toMatch(/CREATE TABLE "extras"/);
    expect(failed?.stderr).toMatch(/migrate\.mjs create <name>/);
  });
});

describe('create', () => {
  it('writes the missing migration; then check passes and deploy applies it', async () => {
    const url = await emptyDatabase();
    const { schemaPath, migrationsDir } = await driftedCopy();
    const lastBefore =
      (await readMigrationsList(migrationsDir)).migrationDirectories.at(-1)?.path ?? '';

    const created = await createMigration({ url, name: 'Add extras!', schemaPath, migrationsDir });

    expect(created?.name).toMatch(/^\d{14}_add_extras$/);
    expect(created!.name > lastBefore).toBe(true);
    expect(await fs.readFile(created!.file, 'utf8')).toMatch(/CREATE TABLE "extras"/);
    expect((await checkMigrations({ url, schemaPath, migrationsDir })).ok).toBe(true);
    expect(await createMigration({ url, name: 'again', schemaPath, migrationsDir })).toBeNull();

    const deployed = await deployMigrations({ url, migrationsDir });
    expect(deployed.applied.at(-1)).toBe(created!.name);
    expect(await tablesOf(url)).toContain('extras');
  });

  it('diffs nothing for this package as committed', async () => {
    const url = await emptyDatabase();
    expect(await diffMigrationsToSchema({ url })).toEqual({
      empty: true,
      script: expect.any(String),
    });
  });
});
