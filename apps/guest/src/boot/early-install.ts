import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { type Logger } from 'pino';

import { findMariadbBinaries } from '../managers/mariadb/binaries';
import { layoutOf } from '../managers/mariadb/layout';
import { renderMyCnf } from '../managers/mariadb/my-cnf';
import { chooseServerAccount } from '../managers/mariadb/server-account';
import { MariadbServer } from '../managers/mariadb/server-process';
import { readBootEnv } from './env';

/**
 * The early install: on a fresh server whose agent config says what it will be sized for
 * (`preinstall`), the guest starts `mariadb-install-db` first thing, while Node loads the rest
 * of the agent and connects to its queue. `prepare` then finds the datadir installed (or
 * waits for the install still running). Installing needs nothing that `prepare` brings, and
 * `prepare` rewrites my.cnf with the final settings before the server first starts.
 *
 * Runs before the agent's modules load, so it uses only light modules (no zod, no pino: it
 * writes pino-shaped lines itself) and reads the injected files without validating them:
 * anything unexpected simply means no early install, and `prepare` does everything as usual.
 * The returned promise never rejects.
 */

/** Kept equal to GUEST_INFO_FILE and GUEST_AGENT_CONFIG_FILE of the contracts (a test checks). */
export const EARLY_GUEST_INFO_FILE = 'guest_info.json';
export const EARLY_AGENT_CONFIG_FILE = 'guest-agent.json';

interface RawConfig {
  preinstall?: { memoryMb?: unknown; vcpus?: unknown };
  datastore?: {
    volumeDir?: unknown;
    runDir?: unknown;
    logDir?: unknown;
    port?: unknown;
    bindAddress?: unknown;
  };
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch {
    return null;
  }
}

/** pino's JSON line format, so the early install's lines read like the rest of the guest log. */
function bootLogger(instanceId: string): Logger {
  const write = (level: number) => (objOrMsg: unknown, msg?: string) => {
    const fields = typeof objOrMsg === 'object' && objOrMsg !== null ? objOrMsg : {};
    const text = typeof objOrMsg === 'string' ? objOrMsg : msg;
    const err = (fields as { err?: unknown }).err;
    process.stdout.write(
      `${JSON.stringify({
        level,
        time: new Date().toISOString(),
        service: 'coffer-guest',
        pid: process.pid,
        instanceId,
        component: 'early-install',
        ...fields,
        ...(err instanceof Error ? { err: { message: err.message } } : {}),
        msg: text,
      })}\n`,
    );
  };
  const logger = {
    trace: () => {},
    debug: () => {},
    info: write(30),
    warn: write(40),
    error: write(50),
    fatal: write(60),
  };
  return { ...logger, child: () => logger } as unknown as Logger;
}

export function beginEarlyInstall(configDir: string): Promise<void> | null {
  const info = readJson(join(configDir, EARLY_GUEST_INFO_FILE)) as { instanceId?: unknown } | null;
  const agent = readJson(join(configDir, EARLY_AGENT_CONFIG_FILE)) as RawConfig | null;
  const preinstall = agent?.preinstall;
  const datastore = agent?.datastore;
  if (
    typeof info?.instanceId !== 'string' ||
    !preinstall ||
    !Number.isInteger(preinstall.memoryMb) ||
    !Number.isInteger(preinstall.vcpus) ||
    typeof datastore?.volumeDir !== 'string' ||
    typeof datastore.runDir !== 'string' ||
    typeof datastore.logDir !== 'string' ||
    !Number.isInteger(datastore.port)
  ) {
    return null;
  }
  const layout = layoutOf(configDir, {
    volumeDir: datastore.volumeDir,
    runDir: datastore.runDir,
    logDir: datastore.logDir,
    port: datastore.port as number,
    bindAddress: typeof datastore.bindAddress === 'string' ? datastore.bindAddress : '127.0.0.1',
  });
  // Only a server that was never prepared, and whose volume holds no datadir yet.
  if (
    existsSync(layout.preparedMarker) ||
    existsSync(layout.failedMarker) ||
    existsSync(layout.datadir)
  )
    return null;

  const env = readBootEnv();
  const logger = bootLogger(info.instanceId);
  const server = new MariadbServer({
    layout,
    findBinaries: () => findMariadbBinaries({ path: env.path, binDir: env.mariadbBinDir }),
    path: env.path,
    logger,
  });
  return (async () => {
    const startedAt = Date.now();
    try {
      const account = chooseServerAccount(
        [layout.volumeDir, layout.runDir, layout.logDir],
        (message) => logger.warn(message),
      );
      server.writeConfig(
        renderMyCnf({
          instanceId: info.instanceId as string,
          resources: { memoryMb: preinstall.memoryMb as number, vcpus: preinstall.vcpus as number },
          port: datastore.port as number,
          bindAddress:
            typeof datastore.bindAddress === 'string' ? datastore.bindAddress : '127.0.0.1',
          datadir: layout.datadir,
          socket: layout.socket,
          pidFile: layout.pidFile,
          logError: layout.logError,
          tmpDir: layout.tmpDir,
        }),
      );
      server.prepareRuntimeDirs(account);
      await server.install(account);
      logger.info({ ms: Date.now() - startedAt }, 'early install done');
    } catch (error) {
      // prepare installs again (from scratch) and reports what goes wrong then.
      logger.warn(
        { err: error, ms: Date.now() - startedAt },
        'early install failed; prepare will install',
      );
    }
  })();
}
