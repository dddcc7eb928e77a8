import { type Connection } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';

import {
  createDatabase,
  createUser,
  deleteDatabase,
  deleteUser,
  enableRoot,
  grantAccess,
  nativePasswordHash,
  revokeAccess,
  updateUser,
} from '.';

/**
 * The SQL the admin functions send, without a server: names are re-checked before anything
 * is sent, identifiers are quoted, account names and hosts are parameters, and no password
 * (not even its hash) is ever part of the statement text. The integration tests run the
 * same functions against a real mariadbd.
 */

interface Sent {
  sql: string;
  values: unknown[];
}

function recordingConnection(answer: (sql: string) => unknown[] = () => []) {
  const sent: Sent[] = [];
  const connection = {
    query: (sql: string, values: unknown[] = []) => {
      sent.push({ sql, values });
      return Promise.resolve([answer(sql), []]);
    },
  } as unknown as Connection;
  return { connection, sent };
}

/** A server on which every database and account asked about exists. */
const everythingExists = (sql: string) =>
  /information_schema\.SCHEMATA/.test(sql)
    ? [{ name: 'app_db', characterSet: 'utf8mb4', collation: 'utf8mb4_unicode_ci' }]
    : /FROM mysql\.(user|db)/.test(sql)
      ? [{ user: 'app', host: '%', db: 'app\\_db' }]
      : [];

describe('nativePasswordHash', () => {
  it("is MariaDB's PASSWORD()", () => {
    // SELECT PASSWORD('Third-789x') on MariaDB 10.11.
    expect(nativePasswordHash('Third-789x')).toBe('*D400046F8EC3C21F67F976EC02ED3EDFB726469F');
  });
});

describe('re-validation before any SQL', () => {
  it.each([
    ['a backtick injection', () => createDatabase, { name: 'x`; DROP DATABASE y; --' }],
    ['a system schema', () => createDatabase, { name: 'mysql' }],
    ['a look-alike', () => createDatabase, { name: 'аpp' }],
    [
      'an unknown character set',
      () => createDatabase,
      { name: 'app', characterSet: 'utf8mb4 COLLATE x' },
    ],
  ])('createDatabase refuses %s', async (_label, fn, spec) => {
    const { connection, sent } = recordingConnection();
    await expect(fn()(connection, spec as never, { mustNotExist: true })).rejects.toBeInstanceOf(
      ZodError,
    );
    expect(sent).toEqual([]);
  });

  it('refuses reserved accounts, bad hosts and system schemas everywhere', async () => {
    const { connection, sent } = recordingConnection(everythingExists);
    const attempts = [
      () =>
        createUser(
          connection,
          { name: 'root', host: '%', password: 'x1234567890', databases: [] },
          { mustNotExist: true },
        ),
      () =>
        createUser(
          connection,
          { name: 'app', host: "%'--", password: 'x1234567890', databases: [] },
          { mustNotExist: true },
        ),
      () =>
        createUser(
          connection,
          { name: 'app', host: '%', password: 'x1234567890', databases: ['sys'] },
          { mustNotExist: true },
        ),
      () =>
        updateUser(connection, {
          name: 'coffer_admin',
          host: 'localhost',
          newPassword: 'x1234567890',
        }),
      () => updateUser(connection, { name: 'app', host: '%', newHost: 'evil.example.com' }),
      () => deleteUser(connection, { name: 'mariadb.sys', host: 'localhost' }),
      () => deleteDatabase(connection, 'performance_schema'),
      () => grantAccess(connection, { name: 'app', host: '%', databases: ['information_schema'] }),
      () => revokeAccess(connection, { name: 'app', host: '%', database: 'a`b' }),
    ];
    for (const attempt of attempts) await expect(attempt()).rejects.toBeInstanceOf(ZodError);
    expect(sent).toEqual([]);
  });
});

describe('the statements sent', () => {
  it('quote identifiers, escape grant wildcards and pass accounts as parameters', async () => {
    const { connection, sent } = recordingConnection(everythingExists);
    await createDatabase(
      connection,
      { name: 'app_db', characterSet: 'utf8mb4', collation: 'utf8mb4_bin' },
      { mustNotExist: true },
    );
    expect(sent[0]!.sql).toBe(
      'CREATE DATABASE `app_db` CHARACTER SET `utf8mb4` COLLATE `utf8mb4_bin`',
    );
    sent.length = 0;
    await grantAccess(connection, { name: 'app', host: '%', databases: ['app_db'] });
    const grant = sent.find(({ sql }) => sql.startsWith('GRANT'))!;
    expect(grant).toEqual({
      sql: 'GRANT ALL PRIVILEGES ON `app\\_db`.* TO ?@?',
      values: ['app', '%'],
    });
  });

  it('never put a password, or its hash, into the statement text', async () => {
    const password = 'Very-secret-password-42';
    const hash = nativePasswordHash(password);
    const { connection, sent } = recordingConnection(everythingExists);
    await createUser(
      connection,
      { name: 'new_user', host: '10.0.%', password, databases: ['app_db'] },
      { mustNotExist: true },
    );
    await updateUser(connection, { name: 'app', host: '%', newPassword: password });
    await enableRoot(connection, password);
    const withSecret = sent.filter(({ values }) => values.includes(hash));
    expect(withSecret.map(({ sql }) => sql)).toEqual([
      'CREATE USER ?@? IDENTIFIED BY PASSWORD ?',
      'ALTER USER ?@? IDENTIFIED BY PASSWORD ?',
      'CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY PASSWORD ?',
      'ALTER USER ?@? IDENTIFIED BY PASSWORD ?',
    ]);
    for (const { sql, values } of sent) {
      expect(sql).not.toContain(password);
      expect(sql).not.toContain(hash);
      expect(values).not.toContain(password);
    }
  });

  it('drop the statement text from an error that carries a password hash', async () => {
    const hash = nativePasswordHash('Very-secret-password-42');
    const connection = {
      query: (sql: string) =>
        Promise.reject(
          Object.assign(new Error('Operation CREATE USER failed'), {
            errno: 1045,
            sql: `${sql} ${hash}`,
          }),
        ),
    } as unknown as Connection;
    const error = await createUser(
      connection,
      { name: 'u1', host: '%', password: 'Very-secret-password-42', databases: [] },
      { mustNotExist: true },
    ).catch((caught: unknown) => caught as Record<string, unknown>);
    expect(error).toBeInstanceOf(Error);
    expect(JSON.stringify(error)).not.toContain(hash);
    expect(error).not.toHaveProperty('sql');
  });
});
