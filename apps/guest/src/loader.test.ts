import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { GUEST_BUNDLE_PATH, GUEST_NODE_FLAGS } from './launch';

/** dist/guest.mjs (loader.ts) and its agent bundle's code cache, on a copy of dist/ (as a VM image has it). */
describe('the bundle loader', () => {
  const copy = mkdtempSync(join(tmpdir(), 'guest-dist-'));
  afterAll(() => rmSync(copy, { recursive: true, force: true }));
  cpSync(dirname(GUEST_BUNDLE_PATH), copy, {
    recursive: true,
    filter: (src) => !src.endsWith('.map'),
  });
  const entry = join(copy, 'guest.mjs');
  // The agent bundle the loader names (older ones stay in dist/ for a while after a rebuild).
  const [, agentFile] =
    /"\.\/chunks\/(agent-[A-Z0-9]+\.cjs)"/.exec(readFileSync(entry, 'utf8')) ?? [];
  const caches = () =>
    readdirSync(join(copy, 'chunks')).filter(
      (name) => name.startsWith(`${agentFile}.`) && name.endsWith('.cache'),
    );
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [...GUEST_NODE_FLAGS, entry, ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
  const makeCache = () => {
    const result = run('--make-code-cache');
    expect(result.status, result.stderr).toBe(0);
    return result.stdout;
  };

  it('comes with the code cache the build made for the guest flags, which V8 accepts', () => {
    expect(caches()).toHaveLength(1);
    expect(makeCache()).toContain('(the cache in place: accepted)');
  });

  it('runs the guest without a cache, or with one V8 refuses, and makes it again', () => {
    for (const name of caches()) rmSync(join(copy, 'chunks', name));
    // The agent loads and runs: it refuses the missing --config-dir, as it would with a cache.
    let result = run();
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('missing --config-dir <dir>');
    expect(makeCache()).toContain('(the cache in place: missing)');
    expect(caches()).toHaveLength(1);

    // A stale or damaged cache: V8 checks it and runs the bundle without it.
    writeFileSync(join(copy, 'chunks', caches()[0]!), Buffer.alloc(4096, 7));
    result = run();
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('missing --config-dir <dir>');
    expect(makeCache()).toContain('(the cache in place: rejected)');
    expect(makeCache()).toContain('(the cache in place: accepted)');
  });

  it('runs a standby only for a pool that holds its IPC channel, and never with a config dir', () => {
    // The protocol itself, with a real pool: apps/worker/src/guest-pool.test.ts.
    let result = run('--standby', copy);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--standby needs an IPC channel to its pool');
    result = run('--standby', copy, '--config-dir', copy);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--config-dir and --standby do not go together');
  });
});
