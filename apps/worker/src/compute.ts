import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import {
  LocalComputeProvider,
  type ComputeLogger,
  type ComputeProvider,
  type GuestCommand,
} from '@coffer/compute';

import { GUEST_BUNDLE_PATH, guestLaunchCommand } from '@coffer/guest/launch';
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
 * Its environment is bare but for a test run's COFFER_TEST_LOG_DIR (see @coffer/testing).
 */
export function resolveGuestCommand(): GuestCommand & { kind: 'bundle' | 'source' } {
  if (existsSync(GUEST_BUNDLE_PATH)) {
    // The bundle, with the guest's own V8 flags for a small idle footprint.
    return { kind: 'bundle', ...guestLaunchCommand(), env: captureLogsEnv() };
  }
  const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return {
    kind: 'source',
    command: process.execPath,
    args: ['--import', tsxLoader, GUEST_SOURCE_ENTRY],
    env: captureLogsEnv(),
  };
}

/** The compute provider named by COFFER_COMPUTE_PROVIDER; fails at boot when it cannot be used. */
export function createComputeProvider(
  settings: WorkerSettings,
  logger: ComputeLogger,
): ComputeProvider {
  switch (settings.computeProvider) {
    case 'local': {
      if (!settings.dataDir) {
        throw new ComputeProviderUnavailableError(
          'COFFER_DATA_DIR is not set: the local compute provider keeps its instances under it',
        );
      }
      const { kind: _kind, ...guestCommand } = resolveGuestCommand();
      return new LocalComputeProvider({
        dataDir: settings.dataDir,
        guestCommand,
        host: settings.instanceHost,
        bindAddress: settings.instanceBindAddress,
        portRange: settings.portRange,
        logger,
      });
    }
    case 'openstack':
      throw new ComputeProviderUnavailableError(
        'COFFER_COMPUTE_PROVIDER=openstack is not available yet (packages/openstack has no compute provider); use "local"',
      );
  }
}
