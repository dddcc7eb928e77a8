import { describe, expect, it } from 'vitest';

import {
  configurationCatalogKeys,
  findConfigurationCatalog,
  type CatalogParameter,
  type ConfigurationCatalog,
} from './catalog';
import { MAX_CONFIGURATION_VALUES, validateConfiguration } from './validate';

function catalog(): ConfigurationCatalog {
  const found = findConfigurationCatalog('mariadb', '10.11');
  if (!found) throw new Error('no catalogue for MariaDB 10.11');
  return found;
}

/** A value just outside the parameter's rule, or null when every value of its type is in range. */
function outsideOf(parameter: CatalogParameter): string | number | null {
  switch (parameter.type) {
    case 'integer':
    case 'float': {
      const step = parameter.type === 'integer' ? 1n : 1n;
      if (
        parameter.max !== undefined &&
        BigInt(parameter.max.split('.')[0] ?? '0') < 2n ** 64n - 1n
      ) {
        return (BigInt(parameter.max.split('.')[0] ?? '0') + step).toString();
      }
      if (
        parameter.min !== undefined &&
        BigInt(parameter.min.split('.')[0] ?? '0') > -(2n ** 63n)
      ) {
        return (BigInt(parameter.min.split('.')[0] ?? '0') - step).toString();
      }
      return null;
    }
    case 'boolean':
      return 'maybe';
    case 'enum':
    case 'set':
      return parameter.allowedValues ? 'NO_SUCH_VALUE_AT_ALL' : 'not a name';
    case 'flagset':
      return 'no_such_flag=on';
    case 'string':
      return 'a\nb';
  }
}

describe('the MariaDB 10.11 catalogue', () => {
  it('is registered, generated from the server and holds the common parameters', () => {
    expect(configurationCatalogKeys()).toContain('mariadb/10.11');
    const mariadb = catalog();
    expect(mariadb.serverVersion).toMatch(/^10\.11\./);
    for (const name of ['max_connections', 'sql_mode', 'long_query_time', 'time_zone']) {
      expect(mariadb.byName.get(name)?.dynamic).toBe(true);
    }
    expect(mariadb.byName.get('innodb_log_file_size')).toMatchObject({ source: 'flavor' });
    expect(mariadb.byName.get('performance_schema')).toMatchObject({ dynamic: false });
    expect(mariadb.byName.get('time_zone')).toMatchObject({ option: 'default_time_zone' });
  });

  it('leaves out what would break the guest or the security model', () => {
    const mariadb = catalog();
    for (const name of [
      'socket',
      'datadir',
      'skip_grant_tables',
      'secure_file_priv',
      'plugin_load_add',
      'plugin_dir',
      'read_only',
      'log_bin',
      'binlog_format',
      'gtid_strict_mode',
      'server_id',
      'bind_address',
      'port',
      'init_file',
      'init_connect',
      'general_log_file',
      'slow_query_log_file',
      'tmpdir',
      'local_infile',
    ]) {
      expect(mariadb.byName.has(name), name).toBe(false);
    }
    expect(mariadb.excludedByName.get('skip_grant_tables')).toBeTruthy();
    expect(mariadb.excludedByName.get('bind_address')).toMatch(/networking/);
  });
});

describe('validateConfiguration over the whole catalogue', () => {
  const mariadb = catalog();
  const parameters = mariadb.parameters;

  it.each(parameters.map((parameter) => [parameter.name, parameter] as const))(
    '%s accepts its own default',
    (name, parameter) => {
      if (parameter.default === null) return;
      const check = validateConfiguration(mariadb, { [name]: parameter.default });
      expect(check.errors).toEqual([]);
      expect(Object.keys(check.values)).toEqual([name]);
    },
  );

  it.each(parameters.map((parameter) => [parameter.name, parameter] as const))(
    '%s refuses a value outside its rule',
    (name, parameter) => {
      const outside = outsideOf(parameter);
      if (outside === null) return;
      const check = validateConfiguration(mariadb, { [name]: outside });
      expect(check.errors).toHaveLength(1);
      expect(check.errors[0]?.name).toBe(name);
      expect(check.errors[0]?.message.startsWith(`${name}: `)).toBe(true);
      expect(check.values).toEqual({});
    },
  );
});

describe('validateConfiguration', () => {
  const mariadb = catalog();

  it('names the parameter and the rule', () => {
    expect(validateConfiguration(mariadb, { max_connections: 100_001 }).errors).toEqual([
      {
        name: 'max_connections',
        rule: 'maximum',
        message: 'max_connections: 100001 is above the maximum of 100000',
      },
    ]);
    expect(validateConfiguration(mariadb, { max_connections: 5 }).errors[0]?.message).toBe(
      'max_connections: 5 is below the minimum of 10',
    );
    expect(validateConfiguration(mariadb, { max_connections: 'lots' }).errors[0]).toMatchObject({
      rule: 'type',
    });
    expect(validateConfiguration(mariadb, { no_such_thing: 1 }).errors[0]).toMatchObject({
      rule: 'unknown',
      message: 'no_such_thing: is not a parameter of mariadb 10.11',
    });
  });

  it('normalizes names and values', () => {
    const check = validateConfiguration(mariadb, {
      'Max-Connections': '200',
      long_query_time: '2.5',
      slow_query_log: 'ON',
      sql_mode: 'strict_trans_tables,no_zero_date',
      innodb_buffer_pool_size: '256M',
      character_set_server: 'UTF8MB4',
      optimizer_switch: 'mrr=on,index_merge=off',
      time_zone: '+00:00',
    });
    expect(check.errors).toEqual([]);
    expect(check.values).toEqual({
      max_connections: 200,
      long_query_time: 2.5,
      slow_query_log: true,
      sql_mode: 'STRICT_TRANS_TABLES,NO_ZERO_DATE',
      innodb_buffer_pool_size: 256 * 1024 * 1024,
      character_set_server: 'utf8mb4',
      optimizer_switch: 'mrr=on,index_merge=off',
      time_zone: '+00:00',
    });
  });

  it('refuses hostile and excluded names and values', () => {
    const hostile: Record<string, unknown> = {
      skip_grant_tables: true,
      'skip-grant-tables': 1,
      plugin_load_add: 'ha_connect.so',
      init_file: '/tmp/evil.sql',
      secure_file_priv: '',
      datadir: '/',
      'max_connections\nskip_grant_tables': 1,
      'wait_timeout = 1\n[mariadbd]': 1,
      time_zone: '+00:00\nskip_grant_tables',
      sql_mode: "ANSI'; SET GLOBAL read_only=0; --",
      default_storage_engine: 'InnoDB # comment',
      lc_messages: '../../etc/passwd',
    };
    const check = validateConfiguration(mariadb, hostile);
    expect(check.values).toEqual({});
    expect(check.errors).toHaveLength(Object.keys(hostile).length);
    const rules = Object.fromEntries(check.errors.map((error) => [error.name, error.rule]));
    expect(rules).toMatchObject({
      skip_grant_tables: 'excluded',
      plugin_load_add: 'excluded',
      init_file: 'excluded',
      secure_file_priv: 'excluded',
      datadir: 'excluded',
      time_zone: 'characters',
      sql_mode: 'characters',
      default_storage_engine: 'characters',
      lc_messages: 'allowed',
    });
    for (const error of check.errors) expect(error.message).not.toMatch(/\n/);
  });

  it('refuses a name given twice and more values than a group holds', () => {
    expect(
      validateConfiguration(mariadb, { max_connections: 100, 'max-connections': 200 }).errors[0],
    ).toMatchObject({ name: 'max_connections', rule: 'duplicate' });
    const many = Object.fromEntries(
      mariadb.parameters
        .filter((parameter) => parameter.default !== null)
        .slice(0, MAX_CONFIGURATION_VALUES + 1)
        .map((parameter) => [parameter.name, parameter.default]),
    );
    expect(validateConfiguration(mariadb, many).errors[0]).toMatchObject({ rule: 'count' });
  });
});
