import { randomBytes } from 'node:crypto';

import { SwiftObjectStore, type KeystoneSwiftObjectStoreConfig } from '@coffer/objectstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createSourceWithValues, roundTripBackupsThrough } from '../../test/backups';
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

// Under `npm test` (COFFER_TEST_CLOUD=required) a missing cloud is a failure, not a skip.
const cloudUp = (await keystoneAnswers()) || process.env.COFFER_TEST_CLOUD === 'required';
if (!cloudUp) {
  console.warn(
    `backup-swift-keystone.cloud.test.ts skipped: no Keystone at ${authUrl}; start the loopback OpenStack with \`node scripts/coffer.mjs openstack start\``,
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
    const store = new SwiftObjectStore(storeConfig);
    try {
      await roundTripBackupsThrough(ctx, source, store);
    } finally {
      await store.close();
    }
  });
});
