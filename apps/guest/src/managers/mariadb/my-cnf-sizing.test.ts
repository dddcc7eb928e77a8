import { findConfigurationCatalog } from '@coffer/contracts';
import { describe, expect, it } from 'vitest';

import { renderMyCnf } from './my-cnf';
import { SIZED_OPTIONS, withSizing } from './my-cnf-sizing';

const base = {
  instanceId: '3f1e2d3c-1111-4222-8333-944455556666',
  port: 4000,
  bindAddress: '127.0.0.1',
  datadir: '/v/data',
  socket: '/r/s.sock',
  pidFile: '/r/p.pid',
  logError: '/l/e.err',
  tmpDir: '/v/tmp',
};

function option(cnf: string, name: string): string[] {
  return cnf
    .split('\n')
    .filter((line) => line.startsWith(`${name} =`))
    .map((line) => line.split('=')[1]!.trim());
}

describe('withSizing', () => {
  it('gives the config written for one flavor the sized lines of another, and nothing else changes', () => {
    const small = renderMyCnf({ ...base, resources: { memoryMb: 512, vcpus: 1 } });
    const large = renderMyCnf({ ...base, resources: { memoryMb: 4096, vcpus: 4 } });
    expect(withSizing(small, { memoryMb: 4096, vcpus: 4 })).toBe(large);
    expect(withSizing(large, { memoryMb: 512, vcpus: 1 })).toBe(small);
    expect(
      option(withSizing(small, { memoryMb: 4096, vcpus: 4 }), 'innodb_buffer_pool_size'),
    ).toEqual(['2048M']);
  });

  it('keeps the redo log size for one flavor step (no rebuild at the restart), and takes the new one further away', () => {
    const tiny = renderMyCnf({ ...base, resources: { memoryMb: 512, vcpus: 1 } });
    const small = renderMyCnf({ ...base, resources: { memoryMb: 1024, vcpus: 1 } });
    expect(option(tiny, 'innodb_log_file_size')).toEqual(['64M']);
    expect(option(small, 'innodb_log_file_size')).toEqual(['128M']);
    const up = withSizing(tiny, { memoryMb: 1024, vcpus: 1 });
    expect(option(up, 'innodb_buffer_pool_size')).toEqual(['512M']);
    expect(option(up, 'innodb_log_file_size')).toEqual(['64M']);
    expect(up).toBe(small.replace('innodb_log_file_size = 128M', 'innodb_log_file_size = 64M'));
    expect(option(withSizing(up, { memoryMb: 512, vcpus: 1 }), 'innodb_log_file_size')).toEqual([
      '64M',
    ]);
    // 64M against 256M (4×) is kept; against 512M (8×), the flavor's own size.
    expect(option(withSizing(tiny, { memoryMb: 2048, vcpus: 1 }), 'innodb_log_file_size')).toEqual([
      '64M',
    ]);
    expect(option(withSizing(tiny, { memoryMb: 4096, vcpus: 1 }), 'innodb_log_file_size')).toEqual([
      '512M',
    ]);
  });

  it('keeps read_only and the overrides, which still come after (and win over) the sized lines', () => {
    const cnf = renderMyCnf({
      ...base,
      resources: { memoryMb: 512, vcpus: 1 },
      isReadOnly: true,
      overrides: { max_connections: 77, 'wait-timeout': 60 },
    });
    const resized = withSizing(cnf, { memoryMb: 2048, vcpus: 2 });
    expect(resized).toContain('read_only = ON');
    expect(option(resized, 'max_connections')).toEqual(['256', '77']);
    expect(option(resized, 'wait_timeout')).toEqual(['60']);
    expect(resized.indexOf('max_connections = 256')).toBeLessThan(
      resized.indexOf('# Overrides (configuration group)'),
    );
    expect(resized).toContain('# Sized for 2048 MB RAM, 2 vCPU.');
  });

  it('adds a sized line an older config lacks, before the overrides', () => {
    const cnf = renderMyCnf({
      ...base,
      resources: { memoryMb: 512, vcpus: 1 },
      overrides: { wait_timeout: 60 },
    })
      .split('\n')
      .filter((line) => !line.startsWith('thread_cache_size'))
      .join('\n');
    const resized = withSizing(cnf, { memoryMb: 1024, vcpus: 1 });
    expect(option(resized, 'thread_cache_size')).toEqual(['16']);
    expect(resized.indexOf('thread_cache_size')).toBeLessThan(resized.indexOf('# Overrides'));
  });

  it('refuses resources that are not positive whole numbers, as prepare does', () => {
    const cnf = renderMyCnf({ ...base, resources: { memoryMb: 512, vcpus: 1 } });
    expect(() => withSizing(cnf, { memoryMb: 0, vcpus: 1 })).toThrow(RangeError);
    expect(() => withSizing(cnf, { memoryMb: 512, vcpus: 1.5 })).toThrow(RangeError);
  });
});

describe('the configuration catalogue', () => {
  // Its generator (packages/contracts/scripts/generate-mariadb-catalog.mjs) keeps its own list:
  // the two must name the same options, or the console would say the wrong source of a value.
  it('marks as sized from the flavor exactly the options prepare sizes', () => {
    const catalog = findConfigurationCatalog('mariadb', '10.11')!;
    const marked = catalog.parameters
      .filter((parameter) => parameter.source === 'flavor')
      .map((parameter) => parameter.name);
    expect(marked.sort()).toEqual([...SIZED_OPTIONS].sort());
  });
});
