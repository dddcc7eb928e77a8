import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  findConfigurationCatalog,
  type CatalogParameter,
  type ConductorMessage,
} from '@coffer/contracts';
import { GuestRpcError } from '@coffer/guest-client';
import { type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  connectAsRoot,
  connectTcp,
  GuestHarness,
  instanceFiles,
  type TestInstance,
} from '../test/harness';

/**
 * Configuration groups on a real guest and mariadbd (issue 15): apply_configuration sets
 * dynamic values at once (a tenant's own connection sees them with SHOW VARIABLES), keeps
 * static ones for the restart (RESTART_REQUIRED until then), resets what is no longer given,
 * rolls back a value the server refuses, and refuses hostile names and values with the
 * server's configuration unchanged.
 */

const heartbeatSays =
  (status: string) =>
  (message: ConductorMessage): boolean =>
    message.kind === 'heartbeat' && message.payload.serviceStatus === status;

describe('apply_configuration', () => {
  const harness = new GuestHarness(0.5, { min: 27900, max: 27919 });
  let instance: TestInstance;
  let appPassword: string;
  let root: Connection;
  let myCnf: string;

  beforeAll(async () => {
    instance = await harness.createInstance();
    appPassword = await harness.prepareApp(instance);
    await instance.conductor.waitFor(heartbeatSays('RUNNING'), 90_000, 'RUNNING');
    const files = instanceFiles(harness.provider, instance.instanceId);
    root = await connectAsRoot(files.socket);
    myCnf = join(files.volumeDir, 'my.cnf');
  });

  afterAll(async () => {
    await root?.end();
    await harness.close();
  });

  const apply = (values: Record<string, string | number | boolean>) =>
    instance.client.call('apply_configuration', { values }, { timeoutMs: 60_000 });

  /** What the tenant's own account reads. */
  async function tenantVariable(name: string): Promise<string | undefined> {
    const tenant = await connectTcp(instance.server.port, 'app_user', appPassword, 'app');
    try {
      const [rows] = await tenant.query<{ Variable_name: string; Value: string }[] & never>(
        'SHOW GLOBAL VARIABLES LIKE ?',
        [name],
      );
      return (rows as { Value: string }[])[0]?.Value;
    } finally {
      await tenant.end();
    }
  }

  async function status(): Promise<string> {
    const { serviceStatus } = await instance.client.call('get_status', {}, { timeoutMs: 30_000 });
    return serviceStatus;
  }

  it('sets dynamic values at once: the tenant reads them with SHOW VARIABLES', async () => {
    const result = await apply({ max_connections: 77, long_query_time: 2.5, sql_mode: 'ANSI' });
    expect(result).toMatchObject({ failed: [], pendingRestart: [] });
    expect(result.applied.sort()).toEqual(['long_query_time', 'max_connections', 'sql_mode']);
    expect(await tenantVariable('max_connections')).toBe('77');
    expect(await tenantVariable('long_query_time')).toBe('2.500000');
    expect(await tenantVariable('sql_mode')).toMatch(/ANSI_QUOTES/);
    expect(readFileSync(myCnf, 'utf8')).toMatch(
      /# Overrides \(configuration group\)\nmax_connections = 77\n/,
    );
    expect(await status()).toBe('RUNNING');

    // What is in force, and where it comes from.
    const { parameters } = await instance.client.call(
      'get_configuration',
      {},
      { timeoutMs: 30_000 },
    );
    const byName = new Map(parameters.map((parameter) => [parameter.name, parameter]));
    expect(byName.get('max_connections')).toMatchObject({ value: '77', source: 'group' });
    expect(byName.get('innodb_buffer_pool_size')).toMatchObject({ source: 'flavor' });
    expect(byName.get('sync_binlog')).toBeUndefined(); // excluded: replication relies on it
    expect(byName.get('innodb_flush_log_at_trx_commit')).toMatchObject({ source: 'coffer' });
    expect(byName.get('wait_timeout')).toMatchObject({ value: '28800', source: 'default' });
    expect(parameters.every((parameter) => !parameter.isRestartPending)).toBe(true);
  });

  it('keeps a static value for the restart: RESTART_REQUIRED until then, after it the value holds', async () => {
    const result = await apply({ max_connections: 77, performance_schema: true });
    expect(result.pendingRestart).toEqual(['performance_schema']);
    expect(await tenantVariable('performance_schema')).toBe('OFF');
    await instance.conductor.waitFor(
      heartbeatSays('RESTART_REQUIRED'),
      30_000,
      'a RESTART_REQUIRED heartbeat',
    );
    expect(await status()).toBe('RESTART_REQUIRED');
    const { parameters } = await instance.client.call(
      'get_configuration',
      {},
      { timeoutMs: 30_000 },
    );
    expect(parameters.find((parameter) => parameter.name === 'performance_schema')).toMatchObject({
      value: 'OFF',
      source: 'group',
      isRestartPending: true,
    });

    await instance.client.call('restart', {}, { timeoutMs: 120_000 });
    expect(await status()).toBe('RUNNING');
    expect(await tenantVariable('performance_schema')).toBe('ON');
    expect(await tenantVariable('max_connections')).toBe('77');
    await root.end();
    root = await connectAsRoot(instanceFiles(harness.provider, instance.instanceId).socket);
  });

  it('rolls back a value the server refuses, and names it; the others apply', async () => {
    // A time zone the server has no table for: valid text, refused by SET GLOBAL.
    const result = await apply({
      max_connections: 88,
      performance_schema: true,
      time_zone: 'Mars/Olympus_Mons',
    });
    expect(result.failed.map((failure) => failure.name)).toEqual(['time_zone']);
    expect(result.failed[0]?.reason).toMatch(/time zone/i);
    expect(await tenantVariable('max_connections')).toBe('88');
    expect(await tenantVariable('time_zone')).toBe('SYSTEM');
    expect(readFileSync(myCnf, 'utf8')).not.toMatch(/time_zone/);
  });

  it('refuses hostile and excluded names and values: the server and its config are unchanged', async () => {
    const before = readFileSync(myCnf, 'utf8');
    const [variablesBefore] = await root.query('SHOW GLOBAL VARIABLES');
    const hostile: Record<string, unknown>[] = [
      { skip_grant_tables: true },
      { plugin_load_add: 'ha_connect.so' },
      { init_file: '/tmp/evil.sql' },
      { secure_file_priv: '' },
      { datadir: '/tmp' },
      { 'max_connections\nskip_grant_tables': 1 },
      { wait_timeout: '600\nskip-grant-tables' },
      { time_zone: '+00:00\n[client]' },
      { sql_mode: "ANSI'; SET GLOBAL read_only=1; --" },
      { general_log: '/etc/passwd' },
      { max_connections: 100_001 },
    ];
    for (const values of hostile) {
      const error = await apply(values as Record<string, string>).then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error, JSON.stringify(values)).toBeInstanceOf(GuestRpcError);
      expect((error as GuestRpcError).failure?.code).toBe('BAD_REQUEST');
    }
    expect(readFileSync(myCnf, 'utf8')).toBe(before);
    const [variablesAfter] = await root.query('SHOW GLOBAL VARIABLES');
    const differing = (variablesAfter as { Variable_name: string; Value: string }[]).filter(
      (row, index) =>
        (variablesBefore as { Variable_name: string; Value: string }[])[index]?.Value !==
          row.Value &&
        !/^(gtid_|timestamp|last_insert|insert_id|rand_seed)/.test(row.Variable_name),
    );
    expect(differing).toEqual([]);
  });

  it('detach (no values) restores the defaults: Coffer’s own lines, else the server’s', async () => {
    const result = await apply({});
    expect(result.reset.sort()).toEqual(['max_connections', 'performance_schema']);
    // Coffer sizes max_connections from the flavor (512 MB: 64).
    expect(await tenantVariable('max_connections')).toBe('64');
    expect(await tenantVariable('long_query_time')).toBe('10.000000');
    expect(readFileSync(myCnf, 'utf8')).not.toMatch(/Overrides/);
    // performance_schema was on since the restart: off again at the next one.
    expect(result.pendingRestart).toEqual(['performance_schema']);
    expect(await status()).toBe('RESTART_REQUIRED');
    await instance.client.call('restart', {}, { timeoutMs: 120_000 });
    expect(await status()).toBe('RUNNING');
    expect(await tenantVariable('performance_schema')).toBe('OFF');
  });
});

/** A default as SET GLOBAL takes it (what the guest sends: numbers bare, the rest quoted). */
function literalOf(connection: Connection, parameter: CatalogParameter, text: string): string {
  if (parameter.type === 'integer' || parameter.type === 'float') return text;
  if (parameter.type === 'boolean') return text === 'ON' || text === '1' ? '1' : '0';
  if (parameter.type === 'string' && text === '') return 'DEFAULT';
  return connection.escape(text);
}

describe('the catalogue against the real server', () => {
  const harness = new GuestHarness(0.5, { min: 27920, max: 27939 });
  let root: Connection;
  const catalog = findConfigurationCatalog('mariadb', '10.11')!;
  const dynamic = catalog.parameters.filter((parameter) => parameter.dynamic);

  beforeAll(async () => {
    const instance = await harness.createInstance();
    await harness.prepareApp(instance);
    await instance.conductor.waitFor(heartbeatSays('RUNNING'), 90_000, 'RUNNING');
    root = await connectAsRoot(instanceFiles(harness.provider, instance.instanceId).socket);
  });

  afterAll(async () => {
    await root?.end();
    await harness.close();
  });

  it('every dynamic parameter takes its own default', async () => {
    const refused: string[] = [];
    for (const parameter of dynamic) {
      if (parameter.default === null) continue;
      const literal = literalOf(root, parameter, parameter.default);
      await root
        .query(`SET GLOBAL ${parameter.name} = ${literal}`)
        .catch((error: unknown) => refused.push(`${parameter.name}: ${(error as Error).message}`));
    }
    expect(refused).toEqual([]);
  });

  it('no integer parameter holds a value outside its catalogue bounds, whatever it is set to', async () => {
    const wrong: string[] = [];
    for (const parameter of dynamic) {
      if (
        parameter.type !== 'integer' ||
        parameter.min === undefined ||
        parameter.max === undefined
      )
        continue;
      // Not the ones whose change would take the test's server down with it; the thread pool
      // is not in use (its variables read 0).
      if (/^(innodb_buffer_pool_size|max_connections)$|^thread_pool_/.test(parameter.name))
        continue;
      const min = BigInt(parameter.min);
      const max = BigInt(parameter.max);
      // Below an unsigned minimum of 0 is a negative number, which the server wraps around:
      // the validator refuses it before it gets there.
      const outside = [max + 1n, ...(min > 0n ? [min - 1n] : [])];
      for (const value of outside) {
        if (value > 2n ** 64n - 1n) continue;
        try {
          await root.query(`SET GLOBAL ${parameter.name} = ${value}`);
        } catch {
          continue; // refused outright
        }
        const [rows] = await root.query(`SELECT CAST(@@GLOBAL.${parameter.name} AS CHAR) AS value`);
        const held = BigInt(String((rows as { value: unknown }[])[0]?.value));
        if (held < min || held > max) wrong.push(`${parameter.name}: ${value} became ${held}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
