// Coffer's embedded services: a private PostgreSQL cluster and a private Redis (with
// append-only persistence), both under one data directory, on loopback ports of their own.
// Used unless DATABASE_URL / REDIS_URL are given.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import {
  SetupError,
  canUserTraverse,
  capture,
  ensureDir,
  isPortOpen,
  isRoot,
  log,
  readJson,
  run,
  waitForPort,
  writeFileAtomic,
} from './system.mjs';

/**
 * Loads (or creates on first use) the secrets of one data directory: passwords of the
 * embedded services, the auth secret and the master key. The file is 0600 and never printed.
 */
export function loadSecrets(dataDir) {
  const file = path.join(dataDir, 'secrets.json');
  const secrets = readJson(file, {});
  let changed = false;
  const ensure = (key, make) => {
    if (!secrets[key]) {
      secrets[key] = make();
      changed = true;
    }
  };
  ensure('postgresPassword', () => randomBytes(24).toString('hex'));
  ensure('redisPassword', () => randomBytes(24).toString('hex'));
  ensure('authSecret', () => randomBytes(32).toString('base64url'));
  ensure('masterKey', () => randomBytes(32).toString('base64'));
  if (changed) {
    ensureDir(dataDir);
    writeFileAtomic(file, JSON.stringify(secrets, null, 2) + '\n', 0o600);
  }
  return secrets;
}

function findPostgresBin() {
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base)
    ? fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, 'bin', 'initdb')))
    : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (!versions.length) {
    const initdb = capture('which', ['initdb']);
    if (initdb) return path.dirname(initdb);
    throw new SetupError(
      'PostgreSQL server binaries (initdb, pg_ctl) not found: install the postgresql package',
    );
  }
  return path.join(base, versions[0], 'bin');
}

/** Where the cluster lives: inside the data directory, unless user postgres cannot reach it. */
function postgresHome(dataDir) {
  const preferred = path.join(dataDir, 'postgres');
  if (canUserTraverse('postgres', dataDir)) return preferred;
  const fallback = path.join(
    '/var/lib/coffer',
    createHash('sha256').update(dataDir).digest('hex').slice(0, 12),
    'postgres',
  );
  log.warn(`user postgres cannot reach ${dataDir}; keeping the PostgreSQL cluster in ${fallback}`);
  return fallback;
}

function asPostgres(command, args, options = {}) {
  if (isRoot) return run('runuser', ['-u', 'postgres', '--', command, ...args], options);
  return run(command, args, options);
}

/**
 * Starts (creating on first use) the private PostgreSQL cluster; returns its connection URL
 * for the given database name, creating that database when missing.
 */
export async function ensurePostgres({ dataDir, port, database, secrets }) {
  const bin = findPostgresBin();
  const home = postgresHome(dataDir);
  const pgdata = path.join(home, 'data');
  const socketDir = path.join(home, 'run');
  const logFile = path.join(home, 'postgres.log');
  ensureDir(home, 0o700);
  ensureDir(socketDir, 0o700);
  if (isRoot) run('chown', ['-R', 'postgres:postgres', home], { quiet: true });

  if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) {
    log.step(`creating the PostgreSQL cluster in ${pgdata}`);
    const pwfile = path.join(home, '.pwfile');
    fs.writeFileSync(pwfile, secrets.postgresPassword + '\n', { mode: 0o600 });
    if (isRoot) run('chown', ['postgres:postgres', pwfile], { quiet: true });
    try {
      asPostgres(
        path.join(bin, 'initdb'),
        [
          '-D',
          pgdata,
          '-U',
          'coffer',
          `--pwfile=${pwfile}`,
          '--auth-local=trust',
          '--auth-host=scram-sha-256',
          '-E',
          'UTF8',
          '--no-locale',
        ],
        { quiet: true },
      );
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
  }

  const running =
    asPostgres(path.join(bin, 'pg_ctl'), ['-D', pgdata, 'status'], {
      quiet: true,
      allowFailure: true,
    }).status === 0;
  if (!running) {
    if (await isPortOpen(port)) {
      throw new SetupError(
        `port ${port} is taken by another program; set COFFER_PG_PORT to a free port`,
      );
    }
    log.step(`starting PostgreSQL on 127.0.0.1:${port}`);
    asPostgres(
      path.join(bin, 'pg_ctl'),
      [
        '-D',
        pgdata,
        '-l',
        logFile,
        '-w',
        '-t',
        '60',
        '-o',
        `-c port=${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${socketDir} -c max_connections=200`,
        'start',
      ],
      { quiet: true },
    );
  }
  await waitForPort(port, { what: 'PostgreSQL' });

  const adminUrl = postgresUrl({ port, secrets, database: 'postgres' });
  const exists = psql(adminUrl, `SELECT 1 FROM pg_database WHERE datname = '${database}'`) === '1';
  if (!exists) psql(adminUrl, `CREATE DATABASE "${database}"`);
  log.ok(`PostgreSQL ready on 127.0.0.1:${port} (database ${database})`);
  // started: this call started the server (it was not running before).
  return {
    url: postgresUrl({ port, secrets, database }),
    adminUrl,
    bin,
    pgdata,
    started: !running,
  };
}

export function postgresUrl({ port, secrets, database }) {
  return `postgresql://coffer:${secrets.postgresPassword}@127.0.0.1:${port}/${database}`;
}

/** Runs one SQL statement with psql against a URL; returns trimmed output. */
export function psql(url, sql) {
  const result = run(
    'psql',
    ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql],
    { quiet: true },
  );
  return result.stdout.trim();
}

/** Drops and creates a database: a clean slate for a test run. */
export function recreateDatabase(adminUrl, database) {
  psql(adminUrl, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  psql(adminUrl, `CREATE DATABASE "${database}"`);
}

export async function stopPostgres({ dataDir }) {
  const bin = findPostgresBin();
  const pgdata = path.join(postgresHome(dataDir), 'data');
  if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) return;
  const running =
    asPostgres(path.join(bin, 'pg_ctl'), ['-D', pgdata, 'status'], {
      quiet: true,
      allowFailure: true,
    }).status === 0;
  if (!running) return;
  asPostgres(path.join(bin, 'pg_ctl'), ['-D', pgdata, '-m', 'fast', '-w', 'stop'], { quiet: true });
  log.ok('PostgreSQL stopped');
}

/** redis-cli's arguments for `command` on the private Redis at `port`. */
function redisCliArgs(port, password, command) {
  return ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', '-a', password, command];
}

function redisPing(port, password) {
  return capture('redis-cli', redisCliArgs(port, password, 'ping')) === 'PONG';
}

/**
 * Starts (creating on first use) the private Redis with append-only persistence; `started`
 * says whether this call started it (it was not running before).
 */
export async function ensureRedis({ dataDir, port, secrets }) {
  const dir = ensureDir(path.join(dataDir, 'redis'), 0o700);
  const runDir = ensureDir(path.join(dataDir, 'run'));
  const logDir = ensureDir(path.join(dataDir, 'log'));
  const started = !redisPing(port, secrets.redisPassword);
  if (started) {
    if (await isPortOpen(port)) {
      throw new SetupError(
        `port ${port} is taken by another program; set COFFER_REDIS_PORT to a free port`,
      );
    }
    log.step(`starting Redis on 127.0.0.1:${port}`);
    const conf = path.join(dir, 'redis.conf');
    writeConfig(conf, [
      `port ${port}`,
      'bind 127.0.0.1',
      'protected-mode yes',
      `dir ${dir}`,
      'appendonly yes',
      'appendfsync everysec',
      `pidfile ${path.join(runDir, 'redis.pid')}`,
      `logfile ${path.join(logDir, 'redis.log')}`,
      'daemonize yes',
      // BullMQ requires that keys are never evicted.
      'maxmemory-policy noeviction',
      `requirepass ${secrets.redisPassword}`,
    ]);
    run('redis-server', [conf], { quiet: true });
    const deadline = Date.now() + 20_000;
    while (!redisPing(port, secrets.redisPassword)) {
      if (Date.now() > deadline)
        throw new SetupError(
          `Redis did not answer on port ${port}; see ${path.join(logDir, 'redis.log')}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  log.ok(`Redis ready on 127.0.0.1:${port}`);
  return { url: `redis://:${secrets.redisPassword}@127.0.0.1:${port}/0`, started };
}

function writeConfig(file, lines) {
  fs.writeFileSync(file, lines.join(os.EOL) + os.EOL, { mode: 0o600 });
}

export async function stopRedis({ port, secrets }) {
  if (!redisPing(port, secrets.redisPassword)) return;
  run('redis-cli', redisCliArgs(port, secrets.redisPassword, 'shutdown'), {
    quiet: true,
    allowFailure: true,
  });
  log.ok('Redis stopped');
}

/**
 * Stops the embedded services a run started (`started`: what ensurePostgres and ensureRedis
 * said) and leaves those that were running before it; external ones are never in `started`.
 * Returns the names of those stopped and of those left running.
 */
export async function stopStartedServices({ dataDir, redisPort, secrets, started }) {
  const stopped = [];
  const kept = [];
  if (started.redis) {
    await stopRedis({ port: redisPort, secrets });
    stopped.push('Redis');
  } else if (started.redis === false) kept.push('Redis');
  if (started.postgres) {
    await stopPostgres({ dataDir });
    stopped.push('PostgreSQL');
  } else if (started.postgres === false) kept.push('PostgreSQL');
  return { stopped, kept };
}
