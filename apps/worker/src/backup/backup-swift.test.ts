import { SwiftObjectStore } from '@coffer/objectstore';
import { startSwift, type SwiftServer } from '@coffer/objectstore/testing';
import { testPorts } from '@coffer/testing/ports';
import { isAlive } from '@coffer/testing/processes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createSourceWithValues, roundTripBackupsThrough } from '../../test/backups';
import { type CreatedInstance, WorkerTestContext } from '../../test/harness';

/**
 * The same round trips over OpenStack Swift: a real Swift (proxy, account, container and
 * object servers with tempauth, memcached) started on loopback for this file, the worker
 * configured with COFFER_BACKUP_STORE=swift, guests writing and reading through tempauth.
 */

const ctx = new WorkerTestContext({ name: 'backup-swift' });
let swift: SwiftServer;
let source: CreatedInstance;
const container = 'coffer-backups-test';

beforeAll(async () => {
  swift = await startSwift({ parentDir: ctx.dataDir, portRange: testPorts().spare });
  await ctx.setUp();
  await ctx.startWorker({
    env: {
      COFFER_BACKUP_STORE: 'swift',
      COFFER_SWIFT_AUTH_URL: swift.authUrl,
      COFFER_SWIFT_USER: swift.user,
      COFFER_SWIFT_KEY: swift.key,
      COFFER_SWIFT_CONTAINER: container,
      COFFER_BACKUP_CHUNK_MB: 1,
    },
  });
  source = await createSourceWithValues(
    ctx,
    "INSERT INTO t (v, pad) VALUES ('before-full', RANDOM_BYTES(60000))",
  );
}, 180_000);

afterAll(async () => {
  const pids = swift?.pids ?? [];
  await swift?.stop();
  await ctx.closeLeavingNothing();
  // Ended (a zombie counts: init here does not reap the orphans of Swift's daemons).
  for (const pid of pids) expect(isAlive(pid)).toBe(false);
});

describe('backups over Swift', () => {
  it('round-trip full, incremental and logical, and are removed from the container when deleted', async () => {
    const store = new SwiftObjectStore(swift.storeConfig(container));
    try {
      await roundTripBackupsThrough(ctx, source, store);
    } finally {
      await store.close();
    }
  });
});
