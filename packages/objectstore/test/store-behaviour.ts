import { randomBytes } from 'node:crypto';

import { expect, it } from 'vitest';

import { ObjectNotFoundError, ObjectStoreError, type ObjectStore } from '../src/index';

/**
 * What every store must do, the same tests for each (inside a `describe`): the local
 * directory, Swift with tempauth (src/object-store.test.ts) and Swift with Keystone
 * (src/keystone-store.cloud.test.ts).
 */
export function storeBehaviour(store: () => ObjectStore): void {
  const prefix = `backups/p/${randomBytes(4).toString('hex')}/`;

  it('stores, reads back, lists by prefix and deletes', async () => {
    const body = randomBytes(300_000);
    const put = await store().put(`${prefix}chunk-000000`, body);
    expect(put.size).toBe(body.length);
    if (store().kind === 'swift') expect(put.etag).toMatch(/^[0-9a-f]{32}$/);
    else expect(put.etag).toBeNull();
    await store().put(`${prefix}chunk-000001`, Buffer.from('second'));
    await store().put(`${prefix}manifest.json`, Buffer.from('{}'));
    await store().put(`backups/p/other/chunk-000000`, Buffer.from('elsewhere'));

    expect((await store().get(`${prefix}chunk-000000`)).equals(body)).toBe(true);
    const listed = await store().list(prefix);
    expect(listed.map(({ name, size }) => ({ name, size }))).toEqual([
      { name: `${prefix}chunk-000000`, size: body.length },
      { name: `${prefix}chunk-000001`, size: 6 },
      { name: `${prefix}manifest.json`, size: 2 },
    ]);
    // Swift lists each object's MD5 (what a Static Large Object's segments are checked by).
    if (store().kind === 'swift') expect(listed[0]!.etag).toBe(put.etag);
    else expect(listed[0]!.etag).toBeUndefined();

    expect(await store().delete(`${prefix}chunk-000001`)).toBe(true);
    expect(await store().delete(`${prefix}chunk-000001`)).toBe(false);
    await expect(store().get(`${prefix}chunk-000001`)).rejects.toBeInstanceOf(ObjectNotFoundError);

    expect(await store().deletePrefix(prefix)).toBe(2);
    expect(await store().list(prefix)).toEqual([]);
    expect((await store().get('backups/p/other/chunk-000000')).toString()).toBe('elsewhere');
    expect(await store().deletePrefix('backups/p/other/')).toBe(1);
  });

  it('replaces an object written twice', async () => {
    await store().put(`${prefix}again`, Buffer.from('one'));
    await store().put(`${prefix}again`, Buffer.from('two'));
    expect((await store().get(`${prefix}again`)).toString()).toBe('two');
    await store().deletePrefix(prefix);
  });

  it('refuses names that could leave its place', async () => {
    for (const name of ['../x', '/abs', 'a//b', 'a/../b', '', 'a b']) {
      await expect(store().put(name, Buffer.from('x'))).rejects.toBeInstanceOf(ObjectStoreError);
    }
  });

  it('lists nothing for a prefix never written', async () => {
    expect(await store().list('backups/none/')).toEqual([]);
    expect(await store().deletePrefix('backups/none/')).toBe(0);
  });
}
