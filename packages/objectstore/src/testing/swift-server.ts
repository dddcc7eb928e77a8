import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';

import { type TempauthSwiftObjectStoreConfig } from '../swift-store';

/**
 * A real OpenStack Swift on loopback for tests (shared/notes/swift-on-loopback.md): Debian's
 * proxy, account, container and object servers (one process each, `workers = 0`), tempauth
 * with one user, a one-replica ring on a plain directory, and the memcached tempauth keeps
 * its tokens in. Everything lives in one temporary directory and runs on free ports of
 * `portRange`; `stop()` ends every process it started, by pid, and removes the directory.
 *
 * Needs the Debian packages swift, swift-proxy, swift-account, swift-container, swift-object
 * and memcached (scripts/lib/setup.mjs installs them for `npm test`), and root (the servers
 * are told `user = root`).
 */

const run = promisify(execFile);

export interface SwiftServer {
  /** The tempauth endpoint, e.g. http://127.0.0.1:32000/auth/v1.0. */
  authUrl: string;
  user: string;
  key: string;
  proxyPort: number;
  /** A store configuration for `container`. */
  storeConfig(container: string): TempauthSwiftObjectStoreConfig;
  /** The directory the object server stores into (to find, and damage, stored objects in tests). */
  devicesDir: string;
  pids: number[];
  stop(): Promise<void>;
}

export interface StartSwiftOptions {
  /**
   * Ports to choose from (five are needed): a test file passes its own spare ports
   * (`testPorts().spare` of @coffer/testing/ports). Default 32000–32099, outside every test
   * file's block.
   */
  portRange?: { min: number; max: number };
  /** Where the temporary directory goes (tests pass their COFFER_TEST_DATA_DIR). Default: the system tmp. */
  parentDir?: string;
  /** How long to wait for the servers to answer. */
  readyTimeoutMs?: number;
}

const USER = 'test:tester';
const KEY = 'testing';

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () =>
      server.close(() => resolve(true)),
    );
  });
}

/** `count` ports of the range that can be bound now, from a random place in it. */
async function pickPorts(range: { min: number; max: number }, count: number): Promise<number[]> {
  const size = range.max - range.min + 1;
  const start = Math.floor(Math.random() * size);
  const ports: number[] = [];
  for (let offset = 0; offset < size && ports.length < count; offset++) {
    const port = range.min + ((start + offset) % size);
    if (await canBind(port)) ports.push(port);
  }
  if (ports.length < count) throw new Error(`no ${count} free ports in ${range.min}-${range.max}`);
  return ports;
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

async function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < deadline) await delay(50);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    while (isAlive(pid)) await delay(20);
  }
}

/** The `[DEFAULT]` lines every server of the test cluster starts with. */
function defaultSection(port: number, dir: string): string[] {
  return [
    '[DEFAULT]',
    'bind_ip = 127.0.0.1',
    `bind_port = ${port}`,
    'workers = 0',
    'user = root',
    `swift_dir = ${join(dir, 'etc')}`,
  ];
}

function serverConf(name: 'account' | 'container' | 'object', port: number, dir: string): string {
  return [
    ...defaultSection(port, dir),
    `devices = ${join(dir, 'devices')}`,
    'mount_check = false',
    `recon_cache_path = ${join(dir, 'cache')}`,
    'log_level = WARNING',
    '',
    '[pipeline:main]',
    `pipeline = ${name}-server`,
    '',
    `[app:${name}-server]`,
    `use = egg:swift#${name}`,
    '',
  ].join('\n');
}

function proxyConf(port: number, memcachedPort: number, dir: string): string {
  return [
    ...defaultSection(port, dir),
    'log_level = WARNING',
    '',
    '[pipeline:main]',
    'pipeline = catch_errors proxy-logging cache tempauth slo dlo proxy-logging proxy-server',
    '',
    '[app:proxy-server]',
    'use = egg:swift#proxy',
    'account_autocreate = true',
    '',
    '[filter:tempauth]',
    'use = egg:swift#tempauth',
    `user_${USER.replace(':', '_')} = ${KEY} .admin`,
    '',
    '[filter:cache]',
    'use = egg:swift#memcache',
    `memcache_servers = 127.0.0.1:${memcachedPort}`,
    '',
    '[filter:catch_errors]',
    'use = egg:swift#catch_errors',
    '',
    '[filter:proxy-logging]',
    'use = egg:swift#proxy_logging',
    '',
    '[filter:slo]',
    'use = egg:swift#slo',
    '',
    '[filter:dlo]',
    'use = egg:swift#dlo',
    '',
  ].join('\n');
}

async function buildRing(etc: string, name: string, port: number): Promise<void> {
  const builder = join(etc, `${name}.builder`);
  await run('swift-ring-builder', [builder, 'create', '10', '1', '1']);
  await run('swift-ring-builder', [builder, 'add', `r1z1-127.0.0.1:${port}/sdb1`, '100']);
  // rebalance exits 1 with a warning on a one-device ring that is nonetheless written.
  await run('swift-ring-builder', [builder, 'rebalance']).catch((error: { code?: number }) => {
    if (error.code !== 1) throw error;
  });
}

/** True once auth, a container PUT and an object PUT/GET/DELETE all work through the proxy. */
async function isServing(proxyPort: number): Promise<boolean> {
  try {
    const auth = await fetch(`http://127.0.0.1:${proxyPort}/auth/v1.0`, {
      headers: { 'X-Auth-User': USER, 'X-Auth-Key': KEY },
      signal: AbortSignal.timeout(3000),
    });
    const token = auth.headers.get('x-auth-token');
    const storageUrl = auth.headers.get('x-storage-url');
    if (auth.status !== 200 || !token || !storageUrl) return false;
    const headers = { 'X-Auth-Token': token };
    const container = await fetch(`${storageUrl}/readiness`, {
      method: 'PUT',
      headers,
      signal: AbortSignal.timeout(3000),
    });
    if (container.status !== 201 && container.status !== 202) return false;
    const put = await fetch(`${storageUrl}/readiness/probe`, {
      method: 'PUT',
      headers,
      body: 'ok',
      signal: AbortSignal.timeout(3000),
    });
    if (put.status !== 201) return false;
    const get = await fetch(`${storageUrl}/readiness/probe`, {
      headers,
      signal: AbortSignal.timeout(3000),
    });
    if (get.status !== 200 || (await get.text()) !== 'ok') return false;
    await fetch(`${storageUrl}/readiness/probe`, {
      method: 'DELETE',
      headers,
      signal: AbortSignal.timeout(3000),
    });
    return true;
  } catch {
    return false;
  }
}

async function startOnce(options: StartSwiftOptions): Promise<SwiftServer> {
  const parent = options.parentDir ?? tmpdir();
  const dir = join(parent, `swift-${randomBytes(4).toString('hex')}`);
  for (const sub of ['etc', 'devices/sdb1', 'cache', 'log'])
    mkdirSync(join(dir, sub), { recursive: true });
  const [proxyPort, accountPort, containerPort, objectPort, memcachedPort] = await pickPorts(
    options.portRange ?? { min: 32000, max: 32099 },
    5,
  );
  const pids: number[] = [];
  const stop = async () => {
    for (const pid of pids.splice(0).reverse()) await stopPid(pid);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const etc = join(dir, 'etc');
    await Promise.all([
      buildRing(etc, 'account', accountPort!),
      buildRing(etc, 'container', containerPort!),
      buildRing(etc, 'object', objectPort!),
    ]);
    writeFileSync(join(etc, 'account-server.conf'), serverConf('account', accountPort!, dir));
    writeFileSync(join(etc, 'container-server.conf'), serverConf('container', containerPort!, dir));
    writeFileSync(join(etc, 'object-server.conf'), serverConf('object', objectPort!, dir));
    writeFileSync(join(etc, 'proxy-server.conf'), proxyConf(proxyPort!, memcachedPort!, dir));

    const exits: string[] = [];
    const start = (name: string, command: string, args: string[]) => {
      const log = openSync(join(dir, 'log', `${name}.log`), 'a');
      const child = spawn(command, args, { stdio: ['ignore', log, log], detached: false });
      closeSync(log);
      if (child.pid === undefined) throw new Error(`${command} could not be started`);
      pids.push(child.pid);
      child.once('exit', (code, signal) => exits.push(`${name} exited (${signal ?? code})`));
      child.unref();
    };
    start('memcached', 'memcached', [
      '-u',
      'nobody',
      '-l',
      '127.0.0.1',
      '-p',
      String(memcachedPort),
      '-U',
      '0',
    ]);
    for (const name of ['account', 'container', 'object', 'proxy'] as const) {
      start(name, `swift-${name}-server`, [join(etc, `${name}-server.conf`)]);
    }

    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    while (!(await isServing(proxyPort!))) {
      if (exits.length > 0) {
        const logs = ['memcached', 'account', 'container', 'object', 'proxy']
          .map((name) => {
            try {
              return `${name}: ${readFileSync(join(dir, 'log', `${name}.log`), 'utf8').slice(-1000)}`;
            } catch {
              return '';
            }
          })
          .join('\n');
        throw new Error(`swift did not start: ${exits.join(', ')}\n${logs}`);
      }
      if (Date.now() > deadline) throw new Error('swift did not answer in time');
      await delay(100);
    }
    const authUrl = `http://127.0.0.1:${proxyPort}/auth/v1.0`;
    return {
      authUrl,
      user: USER,
      key: KEY,
      proxyPort: proxyPort!,
      devicesDir: join(dir, 'devices'),
      pids: [...pids],
      storeConfig: (container) => ({ kind: 'swift', authUrl, user: USER, key: KEY, container }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Starts a Swift; a port taken by someone else between choosing and binding means one more try. */
export async function startSwift(options: StartSwiftOptions = {}): Promise<SwiftServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}
