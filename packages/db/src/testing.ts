import { createHash, randomBytes } from 'node:crypto';

import pg from 'pg';

import { getTestAdminUrl } from './env';
import { ensureCatalog } from './factories';
import { type PrismaClient, createPrismaClient } from './index';
import { detectMariadbVersion } from './mariadb';
import { deployMigrations, readMigrationsList } from './migrate/schema-engine.mjs';
import { quoteIdent, withDatabase } from './migrate/pg-adapter.mjs';

export interface TestDatabase {
  /** The database's name (coffer_test_<random>). */
  name: string;
  /** A URL to it, as DATABASE_URL for code under test. */
  url: string;
  /** A client connected to it. */
  prisma: PrismaClient;
  /** Disconnects and drops the database (WITH (FORCE)); safe to call twice. */
  drop(): Promise<void>;
}

export interface CreateTestDatabaseOptions {
  /** Write the catalog (flavors, MariaDB datastore and parameters). Default true. */
  catalog?: boolean;
  /** The MariaDB version for the catalog. Default: the installed one, else 10.11.19. */
  mariadbVersion?: string;
}

/** The version used when no MariaDB server is installed (tests that do not run one). */
export const FALLBACK_TEST_MARIADB_VERSION = '10.11.19';

let installedMariadbVersion: string | undefined;
function testMariadbVersion(): string {
  if (installedMariadbVersion === undefined) {
    try {
      installedMariadbVersion = detectMariadbVersion();
    } catch {
      installedMariadbVersion = FALLBACK_TEST_MARIADB_VERSION;
    }
  }
  return installedMariadbVersion;
}

async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'coffer-tests' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * The migrated template the test databases are copied from, made once per server and set of
 * migrations (its name holds their hash): `CREATE DATABASE … TEMPLATE` takes a fifth of the
 * time and CPU of applying the migrations again for every file. Made under an advisory lock
 * as `<name>_building`, renamed when complete: a template that exists is whole.
 */
async function migratedTemplate(adminUrl: string): Promise<string> {
  const list = await readMigrationsList();
  const hash = createHash('sha256').update(JSON.stringify(list)).digest('hex').slice(0, 16);
  const template = `coffer_template_${hash}`;
  const exists = (client: pg.Client) =>
    client
      .query('SELECT 1 FROM pg_database WHERE datname = $1', [template])
      .then(({ rowCount }) => rowCount === 1);
  await withAdmin(adminUrl, async (client) => {
    if (await exists(client)) return;
    // Session lock: released by the end of the connection, even when this process dies.
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [template]);
    if (await exists(client)) return;
    const building = `${template}_building`;
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(building)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${quoteIdent(building)}`);
    await deployMigrations({ url: withDatabase(adminUrl, building) });
    await client.query(`ALTER DATABASE ${quoteIdent(building)} RENAME TO ${quoteIdent(template)}`);
  });
  return template;
}

/**
 * A fresh, migrated database of its own for one test file, on the server of
 * COFFER_TEST_PG_ADMIN_URL (else DATABASE_URL's server): a copy of the migrated template (the
 * migrations applied with the same code as `migrate.mjs deploy`). Call drop() in afterAll.
 */
export async function createTestDatabase({
  catalog = true,
  mariadbVersion,
}: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  const adminUrl = getTestAdminUrl();
  const name = `coffer_test_${randomBytes(8).toString('hex')}`;
  const template = await migratedTemplate(adminUrl);
  await withAdmin(adminUrl, (client) =>
    client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}`),
  );
  const url = withDatabase(adminUrl, name);
  let prisma: PrismaClient | undefined;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await prisma?.$disconnect();
    await withAdmin(adminUrl, (client) =>
      client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`),
    );
  };
  try {
    prisma = createPrismaClient({ url, maxConnections: 5, applicationName: 'coffer-tests' });
    if (catalog)
      await ensureCatalog(prisma, { mariadbVersion: mariadbVersion ?? testMariadbVersion() });
    return { name, url, prisma, drop };
  } catch (error) {
    await drop().catch(() => {});
    throw error;
  }
}
