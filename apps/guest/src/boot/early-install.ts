import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { type Logger } from 'pino';

import { datastoreManagers } from '../managers/registry';
import { readBootEnv } from './env';

/**
 * The early install: on a fresh server whose agent config says what it will be sized for
 * (`preinstall`), the guest runs its datastore's early boot hook first thing (the `earlyBoot`
 * the datastore registered in managers/registry.ts; MariaDB's starts `mariadb-install-db`),
 * while Node loads the rest of the agent and connects to its queue. The manager gets the
 * hook's promise and waits for it.
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
  datastore?: unknown;
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
  const info = readJson(join(configDir, EARLY_GUEST_INFO_FILE)) as {
    instanceId?: unknown;
    datastoreManager?: unknown;
  } | null;
  const agent = readJson(join(configDir, EARLY_AGENT_CONFIG_FILE)) as RawConfig | null;
  const preinstall = agent?.preinstall;
  const datastore = agent?.datastore;
  if (
    typeof info?.instanceId !== 'string' ||
    typeof info.datastoreManager !== 'string' ||
    !preinstall ||
    !Number.isInteger(preinstall.memoryMb) ||
    !Number.isInteger(preinstall.vcpus) ||
    typeof datastore !== 'object' ||
    datastore === null
  ) {
    return null;
  }
  const hook = datastoreManagers.earlyBootHookFor(info.datastoreManager);
  if (!hook) return null;
  const logger = bootLogger(info.instanceId);
  try {
    return hook({
      configDir,
      instanceId: info.instanceId,
      preinstall: { memoryMb: preinstall.memoryMb as number, vcpus: preinstall.vcpus as number },
      datastore: datastore as Record<string, unknown>,
      env: readBootEnv(),
      logger,
    });
  } catch (error) {
    // The agent refuses what it must refuse; here it only means no early install.
    logger.warn({ err: error }, 'early install not started; prepare will install');
    return null;
  }
}
