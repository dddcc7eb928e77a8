import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { GuestConfigError, loadGuestConfig } from './config';
import { checkSocketPathFits } from './managers/mariadb/layout';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function configDir(
  agentOverrides: Record<string, unknown> = {},
  info: unknown = undefined,
): string {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-guest-config-'));
  dirs.push(dir);
  const instanceId = randomUUID();
  writeFileSync(
    join(dir, 'guest_info.json'),
    JSON.stringify(
      info ?? {
        instanceId,
        projectId: randomUUID(),
        datastoreManager: 'mariadb',
        datastoreVersion: '10.11',
      },
    ),
  );
  const agent = {
    redisUrl: 'redis://127.0.0.1:6379',
    rpcQueue: `guest-${instanceId}`,
    conductorStream: 'conductor',
    guestSecret: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==',
    datastore: {
      port: 23100,
      volumeDir: join(dir, 'data'),
      logDir: join(dir, 'log'),
      runDir: join(dir, 'run'),
    },
    ...agentOverrides,
  };
  writeFileSync(join(dir, 'guest-agent.json'), JSON.stringify(agent), { mode: 0o600 });
  return dir;
}

describe('loadGuestConfig', () => {
  it('parses the two injected files, with defaults', () => {
    const config = loadGuestConfig(configDir());
    expect(config.agent).toMatchObject({
      heartbeatIntervalSeconds: 3,
      logLevel: 'info',
      datastore: { bindAddress: '127.0.0.1' },
    });
    expect(config.info.datastoreManager).toBe('mariadb');
    expect(config.warnings).toEqual([]);
  });

  it('refuses a missing dir, bad JSON and a config that does not parse, saying which and why', () => {
    expect(() => loadGuestConfig(join(tmpdir(), `no-such-${randomUUID()}`))).toThrow(
      /cannot read .*guest_info.json: ENOENT/,
    );
    const badJson = configDir();
    writeFileSync(join(badJson, 'guest-agent.json'), '{ nope');
    expect(() => loadGuestConfig(badJson)).toThrow(/guest-agent.json is not valid JSON/);
    expect(() => loadGuestConfig(configDir({ guestSecret: 'short' }))).toThrow(GuestConfigError);
    expect(() => loadGuestConfig(configDir({ guestSecret: 'short' }))).toThrow(/guestSecret/);
    expect(() => loadGuestConfig(configDir({}, { instanceId: 'x' }))).toThrow(
      /guest_info.json is not a valid guest config/,
    );
  });

  it('leaves a deep run dir to the datastore manager (the config itself names no socket)', () => {
    const deep = `/tmp/${'d'.repeat(100)}`;
    const datastore = {
      bindAddress: '127.0.0.1',
      port: 23100,
      volumeDir: '/v',
      logDir: '/l',
      runDir: deep,
    };
    const dir = configDir({ datastore });
    expect(loadGuestConfig(dir).agent.datastore.runDir).toBe(deep);
    // MariaDB's server socket would not fit a unix socket path: its manager refuses the config.
    expect(() => checkSocketPathFits(dir, datastore)).toThrow(GuestConfigError);
    expect(() => checkSocketPathFits(dir, datastore)).toThrow(/longer than 107 bytes/);
    expect(() => checkSocketPathFits(dir, { ...datastore, runDir: '/tmp/r' })).not.toThrow();
  });

  it('warns when the agent config is readable by others', () => {
    const dir = configDir();
    chmodSync(join(dir, 'guest-agent.json'), 0o644);
    mkdirSync(join(dir, 'data'));
    expect(loadGuestConfig(dir).warnings).toEqual([expect.stringMatching(/readable by others/)]);
  });
});
