import { SwiftObjectStore } from '@coffer/objectstore';
import { startSwift, type SwiftServer } from '@coffer/objectstore/testing';
import { testPorts } from '@coffer/testing/ports';
import { isAlive } from '@coffer/testing/processes';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  backupAndWait,
  createSourceWithValues,
  startRestore,
  tenantQuery,
  valuesOf,
  waitForBuildEnd,
} from '../../test/backups';
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
    const full = await backupAndWait(ctx, source.instanceId, 'FULL');
    await tenantQuery(ctx, source.instanceId, source, "INSERT INTO t (v) VALUES ('between')");
    const incremental = await backupAndWait(ctx, source.instanceId, 'INCREMENTAL', full.id);
    await tenantQuery(
      ctx,
      source.instanceId,
      source,
      "INSERT INTO t (v) VALUES ('after-incremental')",
    );
    const logical = await backupAndWait(ctx, source.instanceId, 'LOGICAL');
    await tenantQuery(ctx, source.instanceId, source, "INSERT INTO t (v) VALUES ('after-logical')");

    const store = new SwiftObjectStore(swift.storeConfig(container));
    const listed = await store.list(full.location);
    expect(listed.map((object) => object.name.slice(full.location.length))).toContain(
      'manifest.json',
    );
    expect(listed).toHaveLength(full.chunkCount! + 1);

    for (const [backup, expected] of [
      [incremental, ['before-full', 'between']],
      [logical, ['before-full', 'between', 'after-incremental']],
    ] as const) {
      const restored = await startRestore(ctx, backup.id);
      const end = await waitForBuildEnd(ctx, restored);
      expect(end.outcome, end.row.faultMessage ?? '').toBe('ACTIVE');
      expect(await valuesOf(ctx, restored, source)).toEqual(expected);
      await ctx.deleteInstance(restored);
    }

    // Delete the chain, dependents first: its objects leave the container.
    await ctx.prisma.backup.updateMany({
      where: { id: { in: [full.id, incremental.id] } },
      data: { status: 'DELETING' },
    });
    await ctx.enqueue('backup.delete', incremental.id, { backupIds: [incremental.id, full.id] });
    await waitFor(
      async () =>
        (await ctx.prisma.backup.count({ where: { id: { in: [full.id, incremental.id] } } })) === 0,
      {
        timeoutMs: 30_000,
        what: 'the chain to be deleted',
      },
    );
    expect(await store.list(full.location)).toEqual([]);
    expect(await store.list(incremental.location)).toEqual([]);
    expect((await store.list(logical.location)).length).toBe(logical.chunkCount! + 1);
    await store.close();
  });
});
