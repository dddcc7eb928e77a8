import { type z } from 'zod';

import { type configValueSchema } from '@coffer/contracts';

/**
 * The server's defaults file, sized from the flavor (Trove's config template): the buffer
 * pool and connection limits grow with RAM, everything else stays at a small footprint so
 * an idle server is small. Pure: the tests pin the figures.
 */

export interface FlavorResources {
  memoryMb: number;
  vcpus: number;
}

export interface ServerSizing {
  innodbBufferPoolMb: number;
  innodbBufferPoolChunkMb: number;
  innodbLogFileMb: number;
  innodbLogBufferMb: number;
  innodbIoThreads: number;
  maxConnections: number;
  tableOpenCache: number;
  tableDefinitionCache: number;
  threadCacheSize: number;
  tmpTableMb: number;
  keyBufferMb: number;
  ariaPagecacheMb: number;
}

const BUFFER_POOL_FLOOR_MB = 32;
const BUFFER_POOL_SHARE = 0.5;

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function floorTo(value: number, step: number): number {
  return Math.floor(value / step) * step;
}

export function sizeServer({ memoryMb, vcpus }: FlavorResources): ServerSizing {
  if (!Number.isInteger(memoryMb) || memoryMb <= 0)
    throw new RangeError(`memoryMb must be a positive integer, got ${memoryMb}`);
  if (!Number.isInteger(vcpus) || vcpus <= 0)
    throw new RangeError(`vcpus must be a positive integer, got ${vcpus}`);
  // Half the RAM for the buffer pool, in whole chunks (the server rounds the pool up to
  // a multiple of the chunk size, so we pick both): 32 MB chunks for small pools, 128 MB
  // (the server's default) from 1 GB on.
  const share = memoryMb * BUFFER_POOL_SHARE;
  const innodbBufferPoolChunkMb = share >= 1024 ? 128 : 32;
  const innodbBufferPoolMb = Math.max(
    BUFFER_POOL_FLOOR_MB,
    floorTo(share, innodbBufferPoolChunkMb),
  );
  // One connection per 8 MB of RAM: 64 at 512 MB, 512 at 4 GB, at most 2000.
  const maxConnections = clamp(Math.floor(memoryMb / 8), 32, 2000);
  const tableOpenCache = clamp(Math.floor(memoryMb / 2), 200, 4000);
  return {
    innodbBufferPoolMb,
    innodbBufferPoolChunkMb,
    // A quarter of the pool, at least 48 MB, at most 2 GB (MariaDB resizes the redo log on start).
    innodbLogFileMb: clamp(floorTo(innodbBufferPoolMb / 4, 16), 48, 2048),
    innodbLogBufferMb: clamp(floorTo(innodbBufferPoolMb / 32, 4), 4, 16),
    // The server takes at least 2 write threads; as many as vCPUs, up to 8.
    innodbIoThreads: clamp(vcpus, 2, 8),
    maxConnections,
    tableOpenCache,
    tableDefinitionCache: 400 + Math.floor(tableOpenCache / 2),
    threadCacheSize: clamp(Math.floor(maxConnections / 8), 4, 100),
    tmpTableMb: clamp(floorTo(memoryMb / 32, 8), 16, 64),
    keyBufferMb: clamp(floorTo(memoryMb / 64, 8), 8, 64),
    ariaPagecacheMb: clamp(floorTo(memoryMb / 64, 8), 8, 128),
  };
}

/** The server id of an instance (replication needs one per server): from the instance id, in 1..2^32-1. */
export function serverIdOf(instanceId: string): number {
  const hex = instanceId.replace(/-/g, '').slice(0, 8);
  const value = Number.parseInt(hex, 16);
  if (!Number.isFinite(value)) throw new RangeError(`not an instance id: ${instanceId}`);
  return (value % 4_294_967_295) + 1;
}

export interface MyCnfInput {
  instanceId: string;
  resources: FlavorResources;
  port: number;
  bindAddress: string;
  datadir: string;
  socket: string;
  pidFile: string;
  logError: string;
  tmpDir: string;
  /** A replica: read_only from the first start (tenants cannot write; replication can). */
  isReadOnly?: boolean;
  overrides?: Record<string, z.infer<typeof configValueSchema>>;
}

/**
 * Options the guest owns: paths, networking, identity, the binlog, and what would let a
 * setting read or write files elsewhere or bypass authentication.
 */
const MANAGED_OPTIONS = new Set([
  'basedir',
  'bind_address',
  'datadir',
  'general_log_file',
  'gtid_domain_id',
  'gtid_strict_mode',
  'init_file',
  'log_bin',
  'log_bin_basename',
  'log_bin_index',
  'log_error',
  'log_slave_updates',
  'pid_file',
  'plugin_dir',
  'plugin_load',
  'plugin_load_add',
  'port',
  'read_only',
  'relay_log',
  'relay_log_index',
  'secure_file_priv',
  'server_id',
  'skip_grant_tables',
  'skip_networking',
  'skip_slave_start',
  'slow_query_log_file',
  'socket',
  'tmpdir',
  'user',
]);

export class ConfigOverrideError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigOverrideError';
  }
}

/** Checks and normalizes one override: `innodb-flush-method` → `innodb_flush_method`; values as the server reads them. */
export function normalizeOverride(
  key: string,
  value: z.infer<typeof configValueSchema>,
): [string, string] {
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(key))
    throw new ConfigOverrideError(`"${key}" is not a server option name`);
  const name = key.toLowerCase().replace(/-/g, '_');
  if (MANAGED_OPTIONS.has(name))
    throw new ConfigOverrideError(`"${key}" is managed by Coffer and cannot be overridden`);
  let text: string;
  if (typeof value === 'boolean') text = value ? 'ON' : 'OFF';
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ConfigOverrideError(`"${key}" must be a finite number`);
    text = String(value);
  } else {
    // Configuration groups' text values (issue 15): time zones (Europe/Berlin), flag sets
    // (mrr=on), formats (%H:%i:%s); never spaces, quotes, `#`, `\\` or line breaks.
    // A `/` only inside a value (Europe/Berlin): never a path.
    if (
      !/^[A-Za-z0-9_.,+:%/=-]{0,1000}$/.test(value) ||
      value.startsWith('/') ||
      value.includes('..')
    ) {
      throw new ConfigOverrideError(`"${key}" has a value with characters that are not allowed`);
    }
    text = value;
  }
  return [name, text];
}

const READ_ONLY_LINE = 'read_only = ON';

/**
 * The same defaults file with read_only on or off: a replica stays read-only across restarts,
 * a promoted or detached one stays writable. The line sits in the replication block, before
 * any override (and the guest refuses overrides of read_only).
 */
export function withReadOnly(myCnf: string, isReadOnly: boolean): string {
  const lines = myCnf.split('\n').filter((line) => !/^\s*read[_-]only\s*(=|$)/.test(line));
  if (!isReadOnly) return lines.join('\n');
  // After relay_log (configs written since replication), else after log_slave_updates, else first.
  const anchors = [/^relay_log\s*=/, /^log_slave_updates\s*=/, /^\[mariadbd\]$/];
  const at = anchors
    .map((anchor) => lines.findIndex((line) => anchor.test(line.trim())))
    .find((index) => index >= 0);
  lines.splice(at === undefined ? lines.length : at + 1, 0, READ_ONLY_LINE);
  return lines.join('\n');
}

export function renderMyCnf(input: MyCnfInput): string {
  const sizing = sizeServer(input.resources);
  const lines: string[] = [
    '# Written by the Coffer guest agent at prepare time; do not edit (it is rewritten).',
    `# Sized for ${input.resources.memoryMb} MB RAM, ${input.resources.vcpus} vCPU.`,
    '[mariadbd]',
    `datadir = ${input.datadir}`,
    `socket = ${input.socket}`,
    `pid-file = ${input.pidFile}`,
    `log-error = ${input.logError}`,
    `tmpdir = ${input.tmpDir}`,
    `port = ${input.port}`,
    `bind-address = ${input.bindAddress}`,
    'skip-name-resolve',
    'local-infile = 0',
    '',
    '# Identity and binary log (replication, point-in-time recovery)',
    `server-id = ${serverIdOf(input.instanceId)}`,
    'log-bin = mysql-bin',
    'binlog_format = ROW',
    'gtid_strict_mode = ON',
    'log_slave_updates = ON',
    'max_binlog_size = 100M',
    'binlog_expire_logs_seconds = 604800',
    // Named, not after the host name: a replica keeps its relay log when the host is renamed.
    'relay_log = relay-bin',
    ...(input.isReadOnly ? [READ_ONLY_LINE] : []),
    '',
    // Without these a host crash can keep commits in InnoDB that the binlog lost (replicas,
    // backup positions and point-in-time recovery then silently diverge). RDS's defaults;
    // the cost is measured in docs/benchmarks.md (bench:durability).
    '# Durability: each commit is on disk in the binlog and the InnoDB log before it returns',
    'sync_binlog = 1',
    'innodb_flush_log_at_trx_commit = 1',
    '',
    'character-set-server = utf8mb4',
    'collation-server = utf8mb4_unicode_ci',
    '',
    '# Sized from the flavor',
    `innodb_buffer_pool_size = ${sizing.innodbBufferPoolMb}M`,
    `innodb_buffer_pool_chunk_size = ${sizing.innodbBufferPoolChunkMb}M`,
    `innodb_log_file_size = ${sizing.innodbLogFileMb}M`,
    `innodb_log_buffer_size = ${sizing.innodbLogBufferMb}M`,
    `innodb_read_io_threads = ${sizing.innodbIoThreads}`,
    `innodb_write_io_threads = ${sizing.innodbIoThreads}`,
    `max_connections = ${sizing.maxConnections}`,
    `table_open_cache = ${sizing.tableOpenCache}`,
    `table_definition_cache = ${sizing.tableDefinitionCache}`,
    `thread_cache_size = ${sizing.threadCacheSize}`,
    `tmp_table_size = ${sizing.tmpTableMb}M`,
    `max_heap_table_size = ${sizing.tmpTableMb}M`,
    '',
    '# Small footprint when idle',
    'performance_schema = OFF',
    `key_buffer_size = ${sizing.keyBufferMb}M`,
    `aria_pagecache_buffer_size = ${sizing.ariaPagecacheMb}M`,
    'query_cache_type = OFF',
    'query_cache_size = 0',
    'max_allowed_packet = 64M',
  ];
  const overrides = Object.entries(input.overrides ?? {}).map(([key, value]) =>
    normalizeOverride(key, value),
  );
  if (overrides.length > 0) {
    lines.push('', '# Overrides (configuration group)');
    for (const [name, value] of overrides) lines.push(`${name} = ${value}`);
  }
  return `${lines.join('\n')}\n`;
}
