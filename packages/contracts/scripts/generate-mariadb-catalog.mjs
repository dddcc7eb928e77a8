#!/usr/bin/env node
// Generates the configuration parameter catalogue of the machine's MariaDB server version
// (issue 15): starts a throwaway mariadbd (own datadir and socket under a temporary
// directory, no TCP port: never the machine's own server), reads
// information_schema.SYSTEM_VARIABLES and `mariadbd --help --verbose` (what my.cnf can set),
// leaves out what would break the guest or the security model, marks the values Coffer itself
// writes (from the flavor, or fixed), and writes src/configuration/catalogs/mariadb-<x.y>.json.
//
//   npm run catalog:mariadb -w @coffer/contracts            (MARIADB_BIN_DIR=/usr/sbin by default)
//
// Node built-ins only. Run it again when a MariaDB version is added.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const binDir = process.env.MARIADB_BIN_DIR ?? '/usr/sbin';
const clientDir = process.env.MARIADB_CLIENT_DIR ?? '/usr/bin';
const mariadbd = join(binDir, 'mariadbd');
const installDb = join(clientDir, 'mariadb-install-db');
const client = join(clientDir, 'mariadb');

/** Values Coffer's guest writes into my.cnf (apps/guest/src/managers/mariadb/my-cnf.ts): sized from the flavor. */
const FLAVOR_DERIVED = [
  'innodb_buffer_pool_size',
  'innodb_buffer_pool_chunk_size',
  'innodb_log_file_size',
  'innodb_log_buffer_size',
  'innodb_read_io_threads',
  'innodb_write_io_threads',
  'max_connections',
  'table_open_cache',
  'table_definition_cache',
  'thread_cache_size',
  'tmp_table_size',
  'max_heap_table_size',
  'key_buffer_size',
  'aria_pagecache_buffer_size',
];
/** ... and its fixed choices (durability, footprint, character set). */
const COFFER_SET = [
  'sync_binlog',
  'innodb_flush_log_at_trx_commit',
  'character_set_server',
  'collation_server',
  'performance_schema',
  'query_cache_type',
  'query_cache_size',
  'max_allowed_packet',
  'max_binlog_size',
  'binlog_expire_logs_seconds',
];

/** Excluded by name, with the reason the catalogue records. */
const EXCLUDED_NAMES = {
  bind_address: 'networking is managed by Coffer',
  port: 'networking is managed by Coffer',
  extra_port: 'networking is managed by Coffer',
  extra_max_connections: 'networking is managed by Coffer',
  socket: 'networking is managed by Coffer',
  proxy_protocol_networks: 'networking is managed by Coffer',
  skip_networking: 'networking is managed by Coffer',
  skip_name_resolve: 'account hosts are addresses: managed by Coffer',
  secure_file_priv: 'file access is part of the security model',
  local_infile: 'file access is part of the security model',
  secure_timestamp: 'part of the security model',
  init_file: 'runs SQL as the server: part of the security model',
  init_connect: 'runs SQL for every connection: part of the security model',
  init_slave: 'runs SQL for replication: part of the security model',
  read_only: 'replication relies on it (replicas are read-only)',
  server_id: 'replication relies on it',
  log_bin: 'replication and point-in-time recovery rely on it',
  log_slave_updates: 'replication relies on it',
  binlog_format: 'replication relies on it',
  binlog_checksum: 'replication relies on it',
  binlog_row_image: 'replication relies on it',
  sync_binlog: 'durability of replication and backups relies on it',
  max_binlog_size: 'point-in-time recovery relies on it',
  binlog_expire_logs_seconds: 'point-in-time recovery relies on it',
  expire_logs_days: 'point-in-time recovery relies on it',
  user: 'the server account is managed by Coffer',
  lower_case_table_names: 'fixed when the datadir is created',
  innodb_page_size: 'fixed when the datadir is created',
  innodb_data_file_path: 'fixed when the datadir is created',
  innodb_temp_data_file_path: 'fixed when the datadir is created',
  innodb_undo_tablespaces: 'fixed when the datadir is created',
  innodb_force_recovery: 'recovery is an operator action',
  innodb_read_only: 'the guest manages whether the server writes',
  tc_heuristic_recover: 'recovery is an operator action',
  core_file: 'writes outside the volume',
  memlock: 'needs privileges the guest does not give',
  large_pages: 'needs privileges the guest does not give',
  thread_handling: 'fixed by Coffer',
  log_error: 'a path',
  log_tc_size: 'fixed by Coffer',
  open_files_limit: 'a process limit set by the host',
  log_bin_index: 'replication relies on the binary log',
  log_bin_basename: 'replication relies on the binary log',
  log_bin_compress: 'replication relies on the binary log',
  log_bin_compress_min_len: 'replication relies on the binary log',
  ignore_builtin_innodb: 'the server would not start without InnoDB',
  allow_suspicious_udfs: 'part of the security model',
  require_secure_transport: 'TLS is managed by Coffer',
  protocol_version: 'not a setting',
  server_uid: 'not a setting',
  system_time_zone: 'not a setting',
  large_files_support: 'not a setting',
  lower_case_file_system: 'not a setting',
  innodb_default_encryption_key_id: 'encryption needs a key management plugin',
  innodb_ft_aux_table: 'a diagnostic switch, not a setting',
  // Their values hold spaces and quotes, which the validator refuses in any text value.
  ft_boolean_syntax: 'its value cannot be written safely into the configuration file',
  datetime_format:
    'its value cannot be written safely into the configuration file (unused by the server)',
};
/** Excluded by prefix. */
const EXCLUDED_PREFIXES = {
  skip_: 'skip options bypass what the guest relies on',
  plugin: 'plugins and their load options',
  gtid_: 'replication relies on the GTID settings',
  relay_log: 'replication relies on the relay log',
  replicate_: 'replication filters are managed by Coffer',
  master_: 'replication is managed by Coffer',
  slave_: 'replication is managed by Coffer',
  rpl_: 'replication is managed by Coffer',
  report_: 'replication is managed by Coffer',
  wsrep_: 'Galera is not used',
  ssl_: 'TLS files are managed by Coffer',
  tls_: 'TLS is managed by Coffer',
  have_: 'not a setting',
  version: 'not a setting',
  debug: 'not for production',
  init_: 'runs SQL: part of the security model',
  innodb_monitor_: 'actions on the InnoDB monitor counters, not settings',
  encrypt_: 'encryption needs a key management plugin',
  innodb_encrypt: 'encryption needs a key management plugin',
  aria_encrypt: 'encryption needs a key management plugin',
};
/** A setting that names a file or directory: by its name's end, or a text one by any part of it. */
const PATH_END = /_(dir|file|path|directory|basename|dir_path)$|^(basedir|datadir|tmpdir|socket)$/;
const PATH_PART = /(dir|file|path|home)/;

/** Options (not variables) listed as excluded too, so a group naming them is told why. */
const EXCLUDED_OPTIONS = {
  plugin_load: 'plugins and their load options',
  plugin_load_add: 'plugins and their load options',
  skip_grant_tables: 'skip options bypass what the guest relies on',
  chroot: 'a path',
  log_basename: 'a path',
  bootstrap: 'not a setting',
  user: 'the server account is managed by Coffer',
  defaults_file: 'a path',
  defaults_extra_file: 'a path',
};

/**
 * Variables SET GLOBAL cannot change on a running Coffer server although the server calls
 * them dynamic: they apply at the restart (found by the guest's integration test, which sets
 * every dynamic parameter's default on a real server).
 */
const RESTART_ONLY = {
  // "running with --max-user-connections=0 so it cannot execute this statement"
  max_user_connections: true,
  // "Variable 'tcp_nodelay' is a SESSION variable"
  tcp_nodelay: true,
};

/** my.cnf names of variables whose option is spelled differently. */
const OPTION_ALIASES = { time_zone: 'default_time_zone' };

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  }
  return result.stdout;
}

async function waitFor(check, ms, what) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** `mariadbd --help --verbose`'s variables table: the option names my.cnf may set (underscored). */
function readSettableOptions() {
  const text = run(mariadbd, ['--no-defaults', '--help', '--verbose']);
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.startsWith('Variables (--variable-name=value)'));
  if (start < 0) throw new Error('mariadbd --help --verbose: no variables table');
  const names = new Set();
  for (const line of lines.slice(start + 3)) {
    if (line.trim() === '') break;
    names.add(line.split(/\s+/)[0].replace(/-/g, '_'));
  }
  return names;
}

function exclusionOf(name, row) {
  if (Object.hasOwn(EXCLUDED_NAMES, name)) return EXCLUDED_NAMES[name];
  for (const [prefix, reason] of Object.entries(EXCLUDED_PREFIXES)) {
    if (name.startsWith(prefix)) return reason;
  }
  if (PATH_END.test(name)) return 'a path';
  if (row.type === 'VARCHAR' && PATH_PART.test(name)) return 'a path';
  if (typeof row.default === 'string' && row.default.startsWith('/')) return 'a path';
  return null;
}

function typeOf(row) {
  switch (row.type) {
    case 'INT':
    case 'INT UNSIGNED':
    case 'BIGINT':
    case 'BIGINT UNSIGNED':
      return 'integer';
    case 'DOUBLE':
      return 'float';
    case 'BOOLEAN':
      return 'boolean';
    case 'ENUM':
      return 'enum';
    case 'SET':
      return 'set';
    case 'FLAGSET':
      return 'flagset';
    case 'VARCHAR':
      return 'string';
    default:
      throw new Error(`${row.name}: unknown VARIABLE_TYPE ${row.type}`);
  }
}

/** DOUBLE bounds come as "31536000" or "0.000000": kept as the shortest decimal text. */
function decimal(text) {
  if (text === null) return undefined;
  if (/^-?\d+$/.test(text)) return text;
  return String(Number(text));
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'coffer-catalog-'));
  const datadir = join(work, 'data');
  const socket = join(work, 'mariadbd.sock');
  const asRoot = userInfo().uid === 0;
  let server;
  try {
    run(installDb, [
      '--no-defaults',
      `--datadir=${datadir}`,
      '--auth-root-authentication-method=socket',
      '--skip-test-db',
      ...(asRoot ? ['--user=root'] : []),
    ]);
    server = spawn(
      mariadbd,
      [
        '--no-defaults',
        `--datadir=${datadir}`,
        `--socket=${socket}`,
        '--skip-networking',
        `--pid-file=${join(work, 'mariadbd.pid')}`,
        `--log-error=${join(work, 'error.log')}`,
        ...(asRoot ? ['--user=root'] : []),
      ],
      { stdio: 'ignore' },
    );
    await waitFor(() => existsSync(socket), 60_000, 'the throwaway mariadbd');
    const query = (sql) =>
      run(client, [
        '--no-defaults',
        '-S',
        socket,
        '-u',
        userInfo().username,
        '-N',
        '--raw',
        '-e',
        sql,
      ]);
    const serverVersion = query('SELECT VERSION()').trim();
    const rows = JSON.parse(
      query(`SET SESSION group_concat_max_len = 100000000;
        SELECT JSON_ARRAYAGG(JSON_OBJECT(
          'name', LOWER(VARIABLE_NAME), 'scope', VARIABLE_SCOPE, 'type', VARIABLE_TYPE,
          'min', NUMERIC_MIN_VALUE, 'max', NUMERIC_MAX_VALUE, 'blockSize', NUMERIC_BLOCK_SIZE,
          'values', ENUM_VALUE_LIST, 'readOnly', READ_ONLY, 'default', DEFAULT_VALUE,
          'global', GLOBAL_VALUE))
        FROM information_schema.SYSTEM_VARIABLES`).trim(),
    );
    const list = (sql) => query(sql).trim().split('\n').filter(Boolean);
    // ENUMs the server lists no values for: character sets and collations, from the server too.
    const enumValues = {
      character_set_server: list(
        'SELECT CHARACTER_SET_NAME FROM information_schema.CHARACTER_SETS ORDER BY 1',
      ),
      character_set_filesystem: list(
        'SELECT CHARACTER_SET_NAME FROM information_schema.CHARACTER_SETS ORDER BY 1',
      ),
      collation_server: list('SELECT COLLATION_NAME FROM information_schema.COLLATIONS ORDER BY 1'),
    };
    const settable = readSettableOptions();
    const version = /^(\d+\.\d+)\./.exec(serverVersion)?.[1];
    if (!version) throw new Error(`unexpected server version ${serverVersion}`);

    const parameters = [];
    const excluded = [];
    for (const row of rows.sort((a, b) => a.name.localeCompare(b.name))) {
      if (row.scope === 'SESSION ONLY') continue;
      const option = OPTION_ALIASES[row.name] ?? row.name;
      // Not settable in my.cnf (status-like variables, or only at runtime): not a configuration value.
      if (!settable.has(option)) continue;
      const reason = exclusionOf(row.name, row);
      if (reason) {
        excluded.push({ name: row.name, reason });
        continue;
      }
      const type = typeOf(row);
      const parameter = {
        name: row.name,
        type,
        dynamic: row.readOnly === 'NO' && !RESTART_ONLY[row.name],
      };
      if (option !== row.name) parameter.option = option;
      if (type === 'integer' || type === 'float') {
        parameter.min = decimal(row.min);
        parameter.max = decimal(row.max);
        if (type === 'integer' && row.blockSize && row.blockSize !== '1') {
          parameter.blockSize = row.blockSize;
        }
      }
      if ((type === 'enum' || type === 'set' || type === 'flagset') && row.values) {
        parameter.allowedValues = row.values.split(',');
      } else if (enumValues[row.name]) {
        parameter.allowedValues = enumValues[row.name];
      }
      // The default as the server reports it; for a few (paths, sizes computed at start) the
      // running value stands in for an absent one.
      parameter.default = row.default ?? row.global ?? null;
      if (FLAVOR_DERIVED.includes(row.name)) parameter.source = 'flavor';
      else if (COFFER_SET.includes(row.name)) parameter.source = 'coffer';
      parameters.push(parameter);
    }
    for (const [name, reason] of Object.entries(EXCLUDED_OPTIONS)) {
      if (!excluded.some((entry) => entry.name === name)) excluded.push({ name, reason });
    }
    excluded.sort((a, b) => a.name.localeCompare(b.name));
    const catalog = {
      datastore: 'mariadb',
      version,
      serverVersion,
      generatedBy: 'packages/contracts/scripts/generate-mariadb-catalog.mjs',
      parameters,
      excluded,
    };
    const out = join(here, '..', 'src', 'configuration', 'catalogs', `mariadb-${version}.json`);
    writeFileSync(out, `${JSON.stringify(catalog, null, 1)}\n`);
    console.log(
      `${out}: ${parameters.length} parameters (${parameters.filter((p) => !p.dynamic).length} need a restart), ${excluded.length} excluded, from ${serverVersion}`,
    );
  } finally {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
