import { randomBytes } from 'node:crypto';

import {
  deleteContainer,
  getObject,
  KeystoneAuth,
  keystone,
  listObjects,
  OpenStackSession,
} from '@coffer/openstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { storeBehaviour } from '../test/store-behaviour';
import { createObjectStore, SwiftObjectStore, type KeystoneSwiftObjectStoreConfig } from './index';

/**
 * Swift under Keystone v3 auth, against the loopback OpenStack's real Keystone and Swift
 * (keystoneauth middleware): the same behaviour as the local and tempauth stores
 * (test/store-behaviour.ts), objects under the same names in the project's `AUTH_<id>`
 * account (read back with @coffer/openstack's own Swift client), password and application
 * credentials, a token renewed before it expires and after Keystone revoked it, Swift's MD5
 * refusal and wrong credentials. Skipped, saying so, when no Keystone answers: start it with
 * `node scripts/coffer.mjs openstack start` (npm test does not start it).
 */

const authUrl = process.env.OS_AUTH_URL ?? 'http://127.0.0.1:5000/v3';
const admin = {
  type: 'password' as const,
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
    `keystone-store.cloud.test.ts skipped: no Keystone at ${authUrl}; start the loopback OpenStack with \`node scripts/coffer.mjs openstack start\``,
  );
}

const suffix = randomBytes(3).toString('hex');
const containers: string[] = [];
function configOf(container: string): KeystoneSwiftObjectStoreConfig {
  return { kind: 'swift', auth: 'keystone', authUrl, credentials: admin, container };
}
/** A container of the test's own, removed after the file. */
function configFor(what: string): KeystoneSwiftObjectStoreConfig {
  const container = `coffer-test-${what}-${suffix}`;
  containers.push(container);
  return configOf(container);
}

const adminSession = new OpenStackSession({
  auth: new KeystoneAuth({ authUrl, credentials: admin }),
});

describe.skipIf(!cloudUp)('the swift store with Keystone auth', () => {
  let store: SwiftObjectStore;

  beforeAll(() => {
    store = createObjectStore(configFor('behaviour')) as SwiftObjectStore;
  });

  afterAll(async () => {
    await store?.close();
    // Leave nothing in the cloud: every container the file made, emptied and deleted.
    for (const container of containers) {
      const leftover = new SwiftObjectStore(configOf(container));
      await leftover.deletePrefix('');
      await leftover.close();
      await deleteContainer(adminSession, container);
    }
  });

  describe('behaves as every store', () => storeBehaviour(() => store));

  it("puts objects under the same names, in the project's account (Swift's own client sees them)", async () => {
    const name = `backups/p/${suffix}/chunk-000000`;
    const body = randomBytes(70_000);
    await store.put(name, body);
    const token = await store.keystone!.token();
    expect(token.project?.name).toBe(admin.projectName);
    const listed = await listObjects(adminSession, `coffer-test-behaviour-${suffix}`, {
      prefix: `backups/p/${suffix}/`,
    });
    expect(listed.map((object) => [object.name, object.bytes])).toEqual([[name, body.length]]);
    const read = await getObject(adminSession, `coffer-test-behaviour-${suffix}`, name);
    expect(Buffer.from(read!.body).equals(body)).toBe(true);
    expect(await store.deletePrefix(`backups/p/${suffix}/`)).toBe(1);
  });

  it('renews its token before it expires, without a failed request', async () => {
    let skew = 0;
    const renewing = new SwiftObjectStore(configFor('renew'), { now: () => Date.now() + skew });
    await renewing.put('one', Buffer.from('1'));
    const first = await renewing.keystone!.token();
    expect(renewing.keystone!.issued).toBe(1);
    // The clock 4 minutes before the token's expiry: inside the 5-minute renewal window.
    skew = first.expiresAt.getTime() - 4 * 60_000 - Date.now();
    expect((await renewing.get('one')).toString()).toBe('1');
    expect(renewing.keystone!.issued).toBe(2);
    expect((await renewing.keystone!.token()).id).not.toBe(first.id);
    await renewing.deletePrefix('');
    await renewing.close();
  });

  it('gets a new token when Swift refuses the one it holds (401), once', async () => {
    // (A token Keystone revoked is still accepted by Swift while its keystoneauth middleware
    // has it cached in memcached, up to token_cache_time: so the cached token is replaced by one
    // Keystone never issued, which Swift refuses at once.)
    const refused = new SwiftObjectStore(configFor('refused'));
    await refused.put('one', Buffer.from('1'));
    const first = await refused.keystone!.token();
    (refused.keystone as unknown as { cached: unknown }).cached = {
      ...first,
      id: 'gAAAAABnotatokenKeystoneissued',
    };
    expect((await refused.get('one')).toString()).toBe('1');
    expect(refused.keystone!.issued).toBe(2);
    expect((await refused.keystone!.token()).id).not.toBe(first.id);
    await refused.deletePrefix('');
    await refused.close();
  });

  it('authenticates with an application credential, and names it when refused', async () => {
    const identity = keystone(adminSession);
    const user = (await adminSession.auth.token()).user.id;
    const created = await identity.post<{ application_credential: { id: string; secret: string } }>(
      `/users/${user}/application_credentials`,
      { application_credential: { name: `coffer-test-backups-${suffix}` } },
    );
    const { id, secret } = created.application_credential;
    try {
      const config = configFor('appcred');
      const withCredential = createObjectStore({
        ...config,
        credentials: { type: 'application_credential', id, secret },
      });
      await withCredential.put('backups/q/b/manifest.json', Buffer.from('{}'));
      expect(
        (await withCredential.list('backups/q/')).map(({ name, size }) => ({ name, size })),
      ).toEqual([{ name: 'backups/q/b/manifest.json', size: 2 }]);
      await withCredential.close();
      const refused = createObjectStore({
        ...config,
        credentials: { type: 'application_credential', id, secret: 'wrong' },
      });
      await expect(refused.get('backups/q/b/manifest.json')).rejects.toThrow(
        new RegExp(`refused the credentials of application credential ${id}`),
      );
      await refused.close();
    } finally {
      await identity.delete(`/users/${user}/application_credentials/${id}`);
    }
  });

  it('says so when the password is wrong', async () => {
    const wrong = createObjectStore({
      ...configFor('wrong'),
      credentials: { ...admin, password: 'wrong' },
    });
    await expect(wrong.put('x', Buffer.from('x'))).rejects.toThrow(
      /Keystone at 127\.0\.0\.1:5000\) refused the credentials of admin \(project admin\)/,
    );
    await wrong.close();
  });

  it('checks the MD5 of what it stores: a body damaged on the way is refused (422)', async () => {
    const config = configFor('md5');
    const checked = new SwiftObjectStore(config);
    await checked.put('probe', Buffer.from('ok'));
    const internals = checked as unknown as {
      request: (...args: unknown[]) => Promise<{ status: number }>;
    };
    const response = await internals.request('PUT', `/${config.container}/damaged`, {
      headers: { ETag: '0'.repeat(32) },
      body: Buffer.from('payload'),
    });
    expect(response.status).toBe(422);
    expect(await checked.list('damaged')).toEqual([]);
    await checked.deletePrefix('');
    await checked.close();
  });
});
