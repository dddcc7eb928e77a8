import pg from 'pg';
import { describe, expect, it } from 'vitest';

import { getTestAdminUrl } from './env';
import { migrationStatus } from './migrate/schema-engine.mjs';
import { createTestDatabase } from './testing';

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: getTestAdminUrl() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rowCount === 1;
  } finally {
    await client.end();
  }
}

describe('createTestDatabase', () => {
  it('makes a migrated database with the catalog, and drops it again', async () => {
    const db = await createTestDatabase();
    try {
      expect(db.name).toMatch(/^coffer_test_[0-9a-f]{16}$/);
      expect(await databaseExists(db.name)).toBe(true);
      expect((await migrationStatus({ url: db.url })).upToDate).toBe(true);
      expect(await db.prisma.datastoreVersion.count({ where: { isDefault: true } })).toBe(1);
    } finally {
      await db.drop();
    }
    expect(await databaseExists(db.name)).toBe(false);
    await db.drop(); // twice is fine
  });

  it('gives every caller a database of its own', async () => {
    const [a, b] = await Promise.all([
      createTestDatabase({ catalog: false }),
      createTestDatabase({ catalog: false }),
    ]);
    try {
      expect(a.name).not.toBe(b.name);
      await a.prisma.project.create({ data: { name: 'only in a' } });
      expect(await b.prisma.project.count()).toBe(0);
      expect(await b.prisma.flavor.count()).toBe(0);
    } finally {
      await Promise.all([a.drop(), b.drop()]);
    }
  });
});
