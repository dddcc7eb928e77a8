import { describe, expect, it } from 'vitest';

import {
  ConfigOverrideError,
  normalizeOverride,
  renderMyCnf,
  serverIdOf,
  sizeServer,
  withReadOnly,
} from './my-cnf';

describe('sizeServer', () => {
  it('gives the smallest flavor a small but useful server', () => {
    expect(sizeServer({ memoryMb: 512, vcpus: 1 })).toEqual({
      innodbBufferPoolMb: 256,
      innodbBufferPoolChunkMb: 32,
      innodbLogFileMb: 64,
      innodbLogBufferMb: 8,
      innodbIoThreads: 2,
      maxConnections: 64,
      tableOpenCache: 256,
      tableDefinitionCache: 528,
      threadCacheSize: 8,
      tmpTableMb: 16,
      keyBufferMb: 8,
      ariaPagecacheMb: 8,
    });
  });

  it('gives half the RAM to the buffer pool, in whole chunks', () => {
    for (const memoryMb of [512, 768, 1000, 1024, 2048, 3000, 4096, 8192, 16384, 65536]) {
      const { innodbBufferPoolMb, innodbBufferPoolChunkMb } = sizeServer({ memoryMb, vcpus: 2 });
      expect(innodbBufferPoolMb % innodbBufferPoolChunkMb).toBe(0);
      expect(innodbBufferPoolMb).toBeLessThanOrEqual(memoryMb / 2);
      expect(innodbBufferPoolMb).toBeGreaterThan(memoryMb / 2 - innodbBufferPoolChunkMb);
    }
    expect(sizeServer({ memoryMb: 2048, vcpus: 2 }).innodbBufferPoolMb).toBe(1024);
    expect(sizeServer({ memoryMb: 2048, vcpus: 2 }).innodbBufferPoolChunkMb).toBe(128);
  });

  it('keeps a floor for tiny flavors and caps connections for huge ones', () => {
    const tiny = sizeServer({ memoryMb: 64, vcpus: 1 });
    expect(tiny.innodbBufferPoolMb).toBe(32);
    expect(tiny.maxConnections).toBe(32);
    const huge = sizeServer({ memoryMb: 262_144, vcpus: 64 });
    expect(huge.maxConnections).toBe(2000);
    expect(huge.innodbIoThreads).toBe(8);
    expect(huge.innodbLogFileMb).toBe(2048);
  });

  it('scales connections with RAM', () => {
    expect(sizeServer({ memoryMb: 1024, vcpus: 1 }).maxConnections).toBe(128);
    expect(sizeServer({ memoryMb: 4096, vcpus: 2 }).maxConnections).toBe(512);
  });

  it('refuses nonsense', () => {
    expect(() => sizeServer({ memoryMb: 0, vcpus: 1 })).toThrow(RangeError);
    expect(() => sizeServer({ memoryMb: 512.5, vcpus: 1 })).toThrow(RangeError);
    expect(() => sizeServer({ memoryMb: 512, vcpus: 0 })).toThrow(RangeError);
  });
});

describe('serverIdOf', () => {
  it('derives a stable id in 1..2^32-1 from the instance id', () => {
    expect(serverIdOf('00000000-0000-4000-8000-000000000000')).toBe(1);
    expect(serverIdOf('ffffffff-ffff-4fff-bfff-ffffffffffff')).toBe(1);
    expect(serverIdOf('d2024fa5-75af-4f8c-b4d1-efbad27bc7f4')).toBe(0xd2024fa5 + 1);
    expect(serverIdOf('d2024fa5-75af-4f8c-b4d1-efbad27bc7f4')).toBe(
      serverIdOf('d2024fa5-0000-4000-8000-000000000000'),
    );
  });
});

/** What renderMyCnf gets for a small server; a test changes what it is about. */
const cnfInput = {
  instanceId: 'd2024fa5-75af-4f8c-b4d1-efbad27bc7f4',
  resources: { memoryMb: 512, vcpus: 1 },
  port: 23100,
  bindAddress: '127.0.0.1',
  datadir: '/v/data',
  socket: '/r/mysqld.sock',
  pidFile: '/r/mysqld.pid',
  logError: '/l/mariadb.err',
  tmpDir: '/v/tmp',
};

describe('renderMyCnf', () => {
  const base = cnfInput;

  it('writes the paths, identity, binlog and sizing', () => {
    const text = renderMyCnf(base);
    const lines = text.split('\n');
    expect(lines).toContain('[mariadbd]');
    for (const line of [
      'datadir = /v/data',
      'socket = /r/mysqld.sock',
      'pid-file = /r/mysqld.pid',
      'log-error = /l/mariadb.err',
      // Temporary files on the instance's own volume, never the shared /tmp.
      'tmpdir = /v/tmp',
      'port = 23100',
      'bind-address = 127.0.0.1',
      'skip-name-resolve',
      `server-id = ${0xd2024fa5 + 1}`,
      'log-bin = mysql-bin',
      'binlog_format = ROW',
      'gtid_strict_mode = ON',
      // Durable: a commit is on disk in the binlog and the InnoDB log before it returns.
      'sync_binlog = 1',
      'innodb_flush_log_at_trx_commit = 1',
      'character-set-server = utf8mb4',
      'innodb_buffer_pool_size = 256M',
      'max_connections = 64',
      'performance_schema = OFF',
    ]) {
      expect(lines).toContain(line);
    }
  });

  it('appends overrides, normalized', () => {
    const text = renderMyCnf({
      ...base,
      overrides: {
        'wait-timeout': 600,
        sql_mode: 'STRICT_TRANS_TABLES,NO_ZERO_DATE',
        log_warnings: false,
      },
    });
    expect(text).toContain('wait_timeout = 600\n');
    expect(text).toContain('sql_mode = STRICT_TRANS_TABLES,NO_ZERO_DATE\n');
    expect(text).toContain('log_warnings = OFF\n');
  });

  it('refuses overrides of what the guest manages, and values that could smuggle options', () => {
    for (const key of [
      'datadir',
      'port',
      'bind-address',
      'skip_grant_tables',
      'init-file',
      'plugin_load_add',
      'user',
      'server_id',
      'log_bin',
      // Replication is the guest's: a replica's read_only, the relay log, what promotion needs.
      'read_only',
      'read-only',
      'relay_log',
      'log_slave_updates',
      'gtid_strict_mode',
      'gtid_domain_id',
      'skip_slave_start',
    ]) {
      expect(() => normalizeOverride(key, 'x'), key).toThrow(ConfigOverrideError);
    }
    expect(() => normalizeOverride('wait_timeout', '600\nskip-grant-tables')).toThrow(
      ConfigOverrideError,
    );
    expect(() => normalizeOverride('general_log', '/etc/passwd')).toThrow(ConfigOverrideError);
    expect(() => normalizeOverride('x = y', 1)).toThrow(ConfigOverrideError);
    expect(() => normalizeOverride('wait_timeout', Number.POSITIVE_INFINITY)).toThrow(
      ConfigOverrideError,
    );
  });

  it('names the relay log, and starts a replica read-only', () => {
    expect(renderMyCnf(base).split('\n')).toContain('relay_log = relay-bin');
    expect(renderMyCnf(base)).not.toMatch(/read_only/);
    expect(renderMyCnf({ ...base, isReadOnly: true }).split('\n')).toContain('read_only = ON');
  });
});

describe('withReadOnly', () => {
  const input = {
    ...cnfInput,
    instanceId: 'd2024fa4-0000-4000-8000-000000000000',
    overrides: { wait_timeout: 600 },
  };
  const base = renderMyCnf(input);

  it('turns read_only on once, in the replication block, and off again', () => {
    const on = withReadOnly(base, true);
    const lines = on.split('\n');
    expect(lines.filter((line) => line === 'read_only = ON')).toHaveLength(1);
    expect(lines.indexOf('read_only = ON')).toBe(lines.indexOf('relay_log = relay-bin') + 1);
    expect(withReadOnly(on, true)).toBe(on);
    expect(withReadOnly(on, false)).toBe(base);
    expect(withReadOnly(base, false)).toBe(base);
    expect(on).toBe(renderMyCnf({ ...input, isReadOnly: true }));
  });

  it('finds its place in a config written before the relay log was named', () => {
    const older = base.replace('relay_log = relay-bin\n', '');
    const lines = withReadOnly(older, true).split('\n');
    expect(lines.indexOf('read_only = ON')).toBe(lines.indexOf('log_slave_updates = ON') + 1);
  });
});
