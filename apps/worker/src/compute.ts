import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import {
  isComputeError,
  localComputeProvider,
  type ComputeLogger,
  type ComputeProvider,
  type ComputeProviderDefinition,
  type GuestCommand,
} from '@coffer/compute';

import { openstackComputeProvider } from '@coffer/compute-openstack';
import { GUEST_BUNDLE_PATH, GUEST_ENV, guestLaunchCommand } from '@coffer/guest/launch';
import { captureLogsEnv } from '@coffer/testing/log-capture';

import { type WorkerSettings } from './settings';

/** The repository's root, found from this file (never from the cwd). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const GUEST_SOURCE_ENTRY = join(REPO_ROOT, 'apps', 'guest', 'src', 'main.ts');

export class ComputeProviderUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ComputeProviderUnavailableError';
  }
}

/**
 * How the local provider starts a guest: the guest's bundle (apps/guest/dist/guest.mjs, made
 * by `npm run build -w @coffer/guest`) when it is built, else its TypeScript entry through
 * tsx. The guest runs with its instance directory as cwd, so tsx is given by absolute URL.
 * Its environment is bare but for the guest's allocator settings (GUEST_ENV) and a test run's
 * COFFER_TEST_LOG_DIR (see @coffer/testing).
 */
export function resolveGuestCommand(): GuestCommand & { kind: 'bundle' | 'source' } {
  if (existsSync(GUEST_BUNDLE_PATH)) {
    // The bundle, with the guest's own V8 flags for a small idle footprint.
    return { kind: 'bundle', ...guestLaunchCommand({ env: captureLogsEnv() }) };
  }
  const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return {
    kind: 'source',
    command: process.execPath,
    args: ['--import', tsxLoader, GUEST_SOURCE_ENTRY],
    env: { ...GUEST_ENV, ...captureLogsEnv() },
  };
}

/**
 * The compute providers this worker can run, by name. Adding one: a folder exporting a
 * ComputeProviderDefinition (see @coffer/compute), and one line here.
 */
const registry = new Map<string, ComputeProviderDefinition>();
registerComputeProvider(localComputeProvider);
registerComputeProvider(openstackComputeProvider);

/**
 * Makes `definition` available to COFFER_COMPUTE_PROVIDER under its name; returns a function
 * that takes it back (for tests). A name registered twice is a mistake, refused.
 */
export function registerComputeProvider(definition: ComputeProviderDefinition): () => void {
  if (!/^[a-z][a-z0-9-]*$/.test(definition.name)) {
    throw new Error(
      `a compute provider's name is lower-case letters, digits and -: "${definition.name}"`,
    );
  }
  if (registry.has(definition.name)) {
    throw new Error(`a compute provider named "${definition.name}" is already registered`);
  }
  registry.set(definition.name, definition);
  return () => {
    if (registry.get(definition.name) === definition) registry.delete(definition.name);
  };
}

/** The names COFFER_COMPUTE_PROVIDER may take, sorted. */
export function registeredComputeProviders(): string[] {
  return [...registry.keys()].sort();
}

/**
 * The compute provider named by COFFER_COMPUTE_PROVIDER. Fails at boot, with a
 * ComputeProviderUnavailableError the process reports and exits on, when no provider has that
 * name or the provider says it cannot be used as set up.
 */
export function createComputeProvider(
  settings: WorkerSettings,
  logger: ComputeLogger,
): ComputeProvider {
  const name = settings.computeProvider;
  const definition = registry.get(name);
  if (!definition) {
    throw new ComputeProviderUnavailableError(
      `COFFER_COMPUTE_PROVIDER=${name} names no compute provider of this worker; it has: ${registeredComputeProviders().join(', ')}`,
    );
  }
  try {
    return definition.create({
      dataDir: settings.dataDir,
      instanceHost: settings.instanceHost,
      instanceBindAddress: settings.instanceBindAddress,
      portRange: settings.portRange,
      guestCommand: () => {
        const { kind: _kind, ...command } = resolveGuestCommand();
        return command;
      },
      logger,
    });
  } catch (error) {
    if (isComputeError(error, 'UNAVAILABLE') || isComputeError(error, 'INVALID')) {
      throw new ComputeProviderUnavailableError(
        `the compute provider "${name}" cannot be used: ${error.message}`,
      );
    }
    throw error;
  }
}
