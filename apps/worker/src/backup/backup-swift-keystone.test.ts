import { randomBytes } from 'node:crypto';

import { SwiftObjectStore, type KeystoneSwiftObjectStoreConfig } from '@coffer/objectstore';
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
 * backup-swift.test.ts's round trips, over Swift with Keystone auth: the loopback OpenStack's
 * Keystone and Swift (keystoneauth; `node scripts/coffer.mjs openstack start`), the worker
 * configured with COFFER_BACKUP_STORE=swift, COFFER_SWIFT_AUTH=keystone and the
 * COFFER_OPENSTACK_* credentials, guests given them sealed and getting their own tokens.
 * Skipped, saying so, when no Keystone answers (npm test does not start the cloud).
 */

const authUrl = process.env.OS_AUTH_URL ?? 'http://127.0.0.1:5000/v3';
const admin = {
  username: process.env.OS_USERNAME ?? 'admin',
  password: process.env.OS_PASSWORD ?? 'admin',
  projectName: process.env.OS_PROJECT_NAME ?? 'admin',
};

async function keystoneAnswers(): Promise<boolean> {
  try {
    const answer = await fetch(`${authUrl}/`, { signal: AbortSignal.timeout(5_000) });
    return answer.status < 500;
  } catch {
    return false;
  }
}

const cloudUp = await keystoneAnswers();
if (!cloudUp) {
  console.warn(
    `backup-swift-keystone.test.ts skipped: no Keystone at ${authUrl}; start the loopback OpenStack with \`node scripts/coffer.mjs openstack start\``,
  );
}

const ctx = new WorkerTestContext({ name: 'backup-swift-keystone' });
let source: CreatedInstance;
const container = `coffer-backups-test-${randomBytes(3).toString('hex')}`;
const storeConfig: KeystoneSwiftObjectStoreConfig = {
  kind: 'swift',
  auth: 'keystone',
  authUrl,
  credentials: { type: 'password', ...admin },
  container,
};

beforeAll(async () => {
  if (!cloudUp) return;
  await ctx.setUp();
  await ctx.startWorker({
    env: {
      COFFER_BACKUP_STORE: 'swift',
      COFFER_SWIFT_AUTH: 'keystone',
      COFFER_OPENSTACK_AUTH_URL: authUrl,
      COFFER_OPENSTACK_USERNAME: admin.username,
      COFFER_OPENSTACK_PASSWORD: admin.password,
      COFFER_OPENSTACK_PROJECT_NAME: admin.projectName,
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
  if (!cloudUp) return;
  // The container, emptied, leaves the project's account.
  const store = new SwiftObjectStore(storeConfig);
  await store.deletePrefix('');
  const token = await store.keystone!.token();
  const swift = token.catalog
    .find((service) => service.type === 'object-store')
    ?.endpoints.find((endpoint) => endpoint.interface === 'public');
  if (swift) {
    const answer = await fetch(`${swift.url}/${container}`, {
      method: 'DELETE',
      headers: { 'X-Auth-Token': token.id },
    });
    expect([204, 404]).toContain(answer.status);
  }
  await store.close();
  await ctx.closeLeavingNothing();
});

describe.skipIf(!cloudUp)('backups over Swift with Keystone auth', () => {
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

    const store = new SwiftObjectStore(storeConfig);
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
