import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { formatOptionsOf, templateKeyOf } from './datadir-template';

describe('datadir template keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-template-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const server = join(dir, 'mariadbd');
  const installer = join(dir, 'mariadb-install-db');
  writeFileSync(server, 'server build 1');
  writeFileSync(installer, 'installer');
  const base = {
    binaries: [server, installer],
    installArgs: ['--user=mysql'],
    myCnfText: '[mysqld]\nport=3306\nmax_connections=64\n',
  };

  it('reads the options that shape the datadir, not the others', () => {
    expect(
      formatOptionsOf(
        '[mysqld]\ninnodb-page-size = 8k\nmax_connections=10\nLOWER_CASE_TABLE_NAMES=1\n# innodb_undo_tablespaces=3\n',
      ),
    ).toEqual({ innodb_page_size: '8k', lower_case_table_names: '1' });
  });

  it('is the same for interchangeable installs and differs when the datadir would', () => {
    const key = templateKeyOf(base);
    expect(key).toMatch(/^[0-9a-f]{16}$/);
    // Sizing and ports do not change what the installer writes.
    expect(
      templateKeyOf({ ...base, myCnfText: `${base.myCnfText}innodb_buffer_pool_size=1G\n` }),
    ).toBe(key);
    expect(
      templateKeyOf({ ...base, myCnfText: `${base.myCnfText}innodb_page_size=8k\n` }),
    ).not.toBe(key);
    expect(templateKeyOf({ ...base, installArgs: ['--user=root'] })).not.toBe(key);
    // A new server build (a package upgrade rewrites the binary).
    writeFileSync(server, 'server build 2!');
    utimesSync(server, new Date(), new Date(Date.now() + 60_000));
    expect(templateKeyOf(base)).not.toBe(key);
  });
});
