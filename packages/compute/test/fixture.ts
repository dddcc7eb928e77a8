import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { testPorts } from '@coffer/testing/ports';
import { afterAll, afterEach } from 'vitest';

import { type LocalComputeProvider } from '../src/local/local-provider';
import { unmountVolumesUnder } from '../src/local/volume';
import { type ServerSpec } from '../src/provider';

/** The provider's tests: a real LocalComputeProvider on real files, with fake-guest.mjs as its guest. */

export const FAKE_GUEST = resolve(fileURLToPath(new URL('./fake-guest.mjs', import.meta.url)));

/** A directory of this test file's own under COFFER_TEST_DATA_DIR. */
export function testBaseDir(): string {
  return join(
    process.env.COFFER_TEST_DATA_DIR ?? join(tmpdir(), 'coffer-test-instances'),
    `compute-${randomBytes(4).toString('hex')}`,
  );
}

/**
 * {@link testBaseDir} for a file that mounts volumes: whatever a test left mounted under it is
 * unmounted after each test, and the directory is removed after the file.
 */
export function volumeTestBaseDir(): string {
  const baseDir = testBaseDir();
  afterEach(async () => {
    await unmountVolumesUnder(baseDir);
  });
  afterAll(async () => {
    await unmountVolumesUnder(baseDir);
    rmSync(baseDir, { recursive: true, force: true });
  });
  return baseDir;
}

/** The test file's own instance ports (@coffer/testing/ports): files running side by side never meet. */
export function testPortRange(): { min: number; max: number } {
  return testPorts().instances;
}

export function specFor(instanceId: string = randomUUID()): ServerSpec {
  const projectId = randomUUID();
  return {
    instanceId,
    projectId,
    flavor: { vcpus: 1, ramMb: 512 },
    volumeGb: 1,
    guestInfo: { instanceId, projectId, datastoreManager: 'mariadb', datastoreVersion: '10.11' },
    agentConfig: {
      redisUrl: 'redis://127.0.0.1:6379',
      rpcQueue: `guest-${instanceId}`,
      conductorStream: 'conductor',
      guestSecret: randomBytes(32).toString('base64'),
    },
  };
}

/** Deletes every server of the providers, then the directory. */
export async function cleanUp(providers: LocalComputeProvider[], baseDir: string): Promise<void> {
  for (const provider of providers) {
    for (const server of await provider.listServers()) await provider.deleteServer(server.serverId);
  }
  rmSync(baseDir, { recursive: true, force: true });
}
