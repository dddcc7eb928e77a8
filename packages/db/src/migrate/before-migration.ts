import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

import { getTestAdminUrl } from '../env';
import { quoteIdent, withDatabase } from './pg-adapter.mjs';
import { deployMigrations, paths, readMigrationsList } from './schema-engine.mjs';

/**
 * For a test file of a migration's data changes: a scratch database (on the server of
 * COFFER_TEST_PG_ADMIN_URL), made in `beforeAll` as the migrations before `migration` left it
 * and dropped in `afterAll`. The test writes the rows it starts from through `client` (the
 * project and datastore version most rows need: `insertProjectAndVersion`), then applies
 * `migration` and the ones after with `deployRest()`.
 */
export interface DatabaseBeforeMigration {
  readonly client: pg.Client;
  insertProjectAndVersion(): Promise<{ projectId: string; datastoreId: string; versionId: string }>;
  deployRest(): Promise<void>;
}

export function useDatabaseBeforeMigration(migration: string): DatabaseBeforeMigration {
  let admin: pg.Client | undefined;
  let client: pg.Client | undefined;
  let tmp: string | undefined;
  let name: string | undefined;
  let url: string | undefined;

  beforeAll(async () => {
    const all = (await readMigrationsList()).migrationDirectories.map((m) => m.path);
    if (!all.includes(migration)) throw new Error(`no migration ${migration}`);
    admin = new pg.Client({ connectionString: getTestAdminUrl() });
    await admin.connect();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), `coffer-migrate-${migration}-`));
    name = `coffer_test_${randomBytes(8).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
    url = withDatabase(getTestAdminUrl(), name);
    const before = path.join(tmp, 'migrations');
    await fs.mkdir(before);
    await fs.copyFile(
      path.join(paths.migrations, 'migration_lock.toml'),
      path.join(before, 'migration_lock.toml'),
    );
    for (const dir of all.filter((dir) => dir < migration))
      await fs.cp(path.join(paths.migrations, dir), path.join(before, dir), { recursive: true });
    await deployMigrations({ url, migrationsDir: before });
    client = new pg.Client({ connectionString: url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end().catch(() => undefined);
    if (name) await admin?.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    await admin?.end();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  const connected = () => {
    if (!client) throw new Error('the database before the migration is made in beforeAll');
    return client;
  };
  return {
    get client() {
      return connected();
    },
    async insertProjectAndVersion() {
      const projectId = randomUUID();
      const datastoreId = randomUUID();
      const versionId = randomUUID();
      const db = connected();
      await db.query(`INSERT INTO projects (id, name, "updatedAt") VALUES ($1, 'p', now())`, [
        projectId,
      ]);
      await db.query(
        `INSERT INTO datastores (id, name, manager) VALUES ($1, 'mariadb', 'mariadb')`,
        [datastoreId],
      );
      await db.query(
        `INSERT INTO datastore_versions (id, "datastoreId", name, version) VALUES ($1, $2, '10.11', '10.11.19')`,
        [versionId, datastoreId],
      );
      return { projectId, datastoreId, versionId };
    },
    async deployRest() {
      await deployMigrations({ url: url! });
    },
  };
}
