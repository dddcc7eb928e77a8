import { describe, expect, it } from 'vitest';

import {
  CHARACTER_SETS,
  characterSetOfCollation,
  collationsOf,
  defaultCollationOf,
} from './character-sets';
import {
  databaseNameSchema,
  databaseSpecSchema,
  userHostSchema,
  userNameSchema,
} from './validation';

const messagesOf = (result: {
  success: boolean;
  error?: { issues: { message: string; path: PropertyKey[] }[] };
}) => result.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) ?? [];

describe('userHostSchema (the server runs with skip-name-resolve)', () => {
  it.each([
    '%',
    'localhost',
    '10.0.0.1',
    '255.255.255.255',
    '0.0.0.0',
    '10.0.%',
    '10.%',
    '192.168.1.%',
    '192.168.1._',
    '192.168.1.1_',
    '19_.168.%',
    '1%',
    '10.0.0.0/255.0.0.0',
    '192.168.1.0/255.255.255.0',
    '192.168.1.128/255.255.255.128',
    '10.1.2.3/255.255.255.255',
  ])('accepts %s', (host) => {
    expect(userHostSchema.safeParse(host).success).toBe(true);
  });

  it.each([
    ['a host name', 'db.example.com'],
    ['a host-name pattern', '%.example.com'],
    ['a bare word', 'app'],
    ['spaces', 'x y'],
    ['an octet over 255', '10.0.0.256'],
    ['a leading zero', '10.0.0.01'],
    ['three octets without a trailing %', '10.0.1'],
    ['a prefix pattern not ending with %', '10.0._'],
    ['five parts', '1.2.3.4.%'],
    ['an empty part', '10..0.%'],
    ['CIDR notation (MariaDB has none)', '10.0.0.0/8'],
    ['a non-contiguous netmask', '10.0.0.0/255.0.255.0'],
    ['an address with bits outside its mask', '10.0.0.1/255.255.255.0'],
    ['a netmask with a pattern', '10.0.%/255.255.0.0'],
    ['IPv6', '::1'],
    ['quotes', "%'; DROP USER root; --"],
    ['a backtick', '`%`'],
    ['a Cyrillic look-alike', 'localhоst'],
    ['empty', ''],
  ])('refuses %s', (_label, host) => {
    const result = userHostSchema.safeParse(host);
    expect(result.success).toBe(false);
    if (host)
      expect(messagesOf(result).join()).toMatch(/Host must be %, localhost, an IPv4 address/);
  });
});

describe('databaseNameSchema and userNameSchema', () => {
  it.each([
    ['injection', 'x`; DROP DATABASE y; --'],
    ['a single quote', "app'db"],
    ['a double quote', 'app"db'],
    ['a Cyrillic а', 'аpp'],
    ['a space', 'my db'],
    ['a dot', 'my.db'],
    ['a slash', 'a/b'],
    ['over 64 characters', 'd'.repeat(65)],
    ['mysql', 'mysql'],
    ['MySQL in capitals', 'MySQL'],
    ['information_schema', 'information_schema'],
    ['performance_schema', 'performance_schema'],
    ['sys', 'sys'],
  ])('refuses a database name with %s', (_label, name) => {
    expect(databaseNameSchema.safeParse(name).success).toBe(false);
  });

  it('accepts plain names up to 64 characters', () => {
    for (const name of ['app', 'App_2', 'orders-eu', 'a$b', 'd'.repeat(64)]) {
      expect(databaseNameSchema.safeParse(name).success, name).toBe(true);
    }
  });

  it.each([
    ['root', 'root'],
    ['ROOT', 'ROOT'],
    ['the guest account', 'coffer_admin'],
    ['a replication account', 'coffer_repl_0123abcd'],
    ['mariadb.sys', 'mariadb.sys'],
    ['injection', "x'@'%'; DROP USER root; --"],
    ['a Cyrillic а', 'аpp_user'],
    ['over 32 characters', 'u'.repeat(33)],
    ['an empty name', ''],
  ])('refuses a user name: %s', (_label, name) => {
    expect(userNameSchema.safeParse(name).success).toBe(false);
  });
});

describe('databaseSpecSchema: character sets and collations the server supports', () => {
  it('knows MariaDB 10.11 character sets with their defaults', () => {
    expect(CHARACTER_SETS).toContain('utf8mb4');
    expect(CHARACTER_SETS).toContain('latin1');
    expect(CHARACTER_SETS).toHaveLength(40);
    expect(defaultCollationOf('utf8mb4')).toBe('utf8mb4_general_ci');
    expect(defaultCollationOf('latin1')).toBe('latin1_swedish_ci');
    expect(collationsOf('utf8mb4')).toContain('utf8mb4_unicode_ci');
    expect(collationsOf('binary')).toEqual(['binary']);
    expect(characterSetOfCollation('utf8mb4_unicode_520_ci')).toBe('utf8mb4');
    expect(characterSetOfCollation('utf8mb4_nonsense_ci')).toBeNull();
  });

  it('accepts a name alone, a character set, a collation, or a matching pair', () => {
    for (const spec of [
      { name: 'app' },
      { name: 'app', characterSet: 'latin1' },
      { name: 'app', collation: 'utf8mb4_bin' },
      { name: 'app', characterSet: 'utf8mb4', collation: 'utf8mb4_unicode_ci' },
      { name: 'app', characterSet: 'binary', collation: 'binary' },
    ]) {
      expect(databaseSpecSchema.safeParse(spec).success, JSON.stringify(spec)).toBe(true);
    }
  });

  it('refuses unknown names and a collation of another character set, on the right field', () => {
    expect(messagesOf(databaseSpecSchema.safeParse({ name: 'app', characterSet: 'utf8' }))).toEqual(
      ['characterSet: Unknown character set: choose one the server supports, such as utf8mb4'],
    );
    expect(
      messagesOf(databaseSpecSchema.safeParse({ name: 'app', characterSet: 'utf8mb4; DROP' })),
    ).toHaveLength(1);
    expect(
      messagesOf(databaseSpecSchema.safeParse({ name: 'app', collation: 'utf8mb4_klingon_ci' })),
    ).toEqual([
      'collation: Unknown collation: choose one the server supports, such as utf8mb4_unicode_ci',
    ]);
    expect(
      messagesOf(
        databaseSpecSchema.safeParse({
          name: 'app',
          characterSet: 'latin1',
          collation: 'utf8mb4_bin',
        }),
      ),
    ).toEqual(['collation: Collation utf8mb4_bin belongs to utf8mb4, not to latin1']);
  });
});
