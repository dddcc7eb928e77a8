import { z } from 'zod';

/**
 * The only module of @coffer/db that reads process.env (scripts read theirs directly).
 * Each getter parses what it needs when it is called, so importing the package never
 * requires a variable that the importer does not use.
 */

const postgresUrl = z
  .string()
  .min(1)
  .refine((value) => {
    try {
      return ['postgres:', 'postgresql:'].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, 'must be a postgresql:// URL');

function parse<T>(schema: z.ZodType<T>, name: string, value: string | undefined, hint: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const problem =
      value === undefined || value === ''
        ? 'is not set'
        : (result.error.issues[0]?.message ?? 'is invalid');
    throw new Error(`${name} ${problem}: ${hint}`);
  }
  return result.data;
}

/** DATABASE_URL: the control-plane database. */
export function getDatabaseUrl(): string {
  return parse(
    postgresUrl,
    'DATABASE_URL',
    process.env.DATABASE_URL,
    'point it at the control-plane PostgreSQL database',
  );
}

/**
 * Where test databases are created: COFFER_TEST_PG_ADMIN_URL (a URL to the `postgres`
 * database of a server, as a role with CREATEDB), else the server of DATABASE_URL.
 */
export function getTestAdminUrl(): string {
  const hint =
    'set COFFER_TEST_PG_ADMIN_URL to a PostgreSQL server where tests may create databases ' +
    '(`npm test` does; see packages/db/README.md, "Tests")';
  if (process.env.COFFER_TEST_PG_ADMIN_URL) {
    return parse(
      postgresUrl,
      'COFFER_TEST_PG_ADMIN_URL',
      process.env.COFFER_TEST_PG_ADMIN_URL,
      hint,
    );
  }
  if (process.env.DATABASE_URL) {
    const url = new URL(parse(postgresUrl, 'DATABASE_URL', process.env.DATABASE_URL, hint));
    url.pathname = '/postgres';
    return url.toString();
  }
  throw new Error(`COFFER_TEST_PG_ADMIN_URL is not set: ${hint}`);
}

/** What the seed reads: the database, the first operator's email, where mariadbd is. */
export function getSeedEnv(): {
  databaseUrl: string;
  adminEmail: string;
  mariadbd: string | undefined;
  backupStrategy: 'PHYSICAL' | 'LOGICAL' | undefined;
  replicationStrategy: 'GTID' | 'BINLOG' | undefined;
} {
  return {
    backupStrategy: parse(
      z.enum(['physical', 'logical']).optional(),
      'COFFER_BACKUP_STRATEGY',
      process.env.COFFER_BACKUP_STRATEGY || undefined,
      'say physical (mariadb-backup, with incrementals) or logical (mariadb-dump)',
    )?.toUpperCase() as 'PHYSICAL' | 'LOGICAL' | undefined,
    replicationStrategy: parse(
      z.enum(['gtid', 'binlog']).optional(),
      'COFFER_REPLICATION_STRATEGY',
      process.env.COFFER_REPLICATION_STRATEGY || undefined,
      'say gtid (MASTER_USE_GTID=slave_pos) or binlog (binary log file and position)',
    )?.toUpperCase() as 'GTID' | 'BINLOG' | undefined,
    databaseUrl: getDatabaseUrl(),
    adminEmail: parse(
      z.email().default('admin@coffer.local'),
      'COFFER_ADMIN_EMAIL',
      process.env.COFFER_ADMIN_EMAIL || undefined,
      'the first operator needs a valid email address',
    ),
    mariadbd: process.env.COFFER_MARIADBD || undefined,
  };
}
