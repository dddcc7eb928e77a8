import { randomBytes } from 'node:crypto';

import pg from 'pg';

import { getTestAdminUrl } from './env';
import { ensureCatalog } from './factories';
import { type PrismaClient, createPrismaClient } from './index';
import { detectMariadbVersion } from './mariadb';
import { deployMigrations } from './migrate/schema-engine.mjs';
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
 * A fresh, migrated database of its own for one test file, on the server of
 * COFFER_TEST_PG_ADMIN_URL (else DATABASE_URL's server). The migrations are applied with the
 * same code as `migrate.mjs deploy`. Call drop() in afterAll.
 */
export async function createTestDatabase({
  catalog = true,
  mariadbVersion,
}: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  const adminUrl = getTestAdminUrl();
  const name = `coffer_test_${randomBytes(8).toString('hex')}`;
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${quoteIdent(name)}`));
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
    await deployMigrations({ url });
    prisma = createPrismaClient({ url, maxConnections: 5, applicationName: 'coffer-tests' });
    if (catalog)
      await ensureCatalog(prisma, { mariadbVersion: mariadbVersion ?? testMariadbVersion() });
    return { name, url, prisma, drop };
  } catch (error) {
    await drop().catch(() => {});
    throw error;
  }
}
