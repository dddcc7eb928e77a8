// Swift with a Keystone token against the loopback OpenStack: a container with metadata,
// binary objects with metadata under nested names, head/get/list, a container not empty
// refused at once, deletes that say whether anything was there.
import { beforeAll, describe, expect, it } from 'vitest';
import { adminSession, recorder, requireCloud, uniqueName } from '../test/cloud';
import {
  createContainer,
  deleteContainer,
  deleteObject,
  getObject,
  headObject,
  listContainers,
  listObjects,
  putObject,
  swift,
} from './swift';

beforeAll(requireCloud);

describe('Swift with Keystone tokens', () => {
  it('stores, describes, lists and deletes objects in a container of the project', async () => {
    const { lines, logger } = recorder();
    const session = adminSession(logger);
    const container = uniqueName('backups');
    await createContainer(session, container, { metadata: { owner: 'coffer' } });
    const bytes = Uint8Array.from({ length: 256 * 4 }, (_, i) => i % 256); // every byte value
    const name = 'instance-1/base 2026-12-05/backup.xbstream';
    try {
      const container0 = await swift(session).request('HEAD', `/${container}`);
      expect(container0.headers.get('x-container-meta-owner')).toBe('coffer');

      const put = await putObject(session, container, name, bytes, {
        metadata: { lsn: '42', checksum: 'abc' },
      });
      expect(put.etag).toMatch(/^[0-9a-f]{32}$/);
      expect(put.requestId).toMatch(/^tx/);
      await putObject(session, container, 'instance-1/other.txt', 'hello', {
        contentType: 'text/plain',
      });
      await putObject(session, container, 'instance-2/x', 'x');

      const head = await headObject(session, container, name);
      expect(head).toMatchObject({
        contentLength: bytes.length,
        contentType: 'application/octet-stream',
        etag: put.etag,
        metadata: { lsn: '42', checksum: 'abc' },
      });
      const got = await getObject(session, container, name);
      expect(Buffer.from(got!.body).equals(Buffer.from(bytes))).toBe(true);
      expect(got!.metadata).toEqual({ lsn: '42', checksum: 'abc' });
      expect((await getObject(session, container, 'instance-1/other.txt'))!.contentType).toBe(
        'text/plain',
      );

      const listed = await listObjects(session, container, { prefix: 'instance-1/' });
      expect(listed.map((o) => o.name)).toEqual([name, 'instance-1/other.txt'].sort());
      expect(listed.find((o) => o.name === name)).toMatchObject({
        bytes: bytes.length,
        hash: put.etag,
      });
      expect((await listContainers(session, { prefix: container })).map((c) => c.name)).toEqual([
        container,
      ]);

      // a container with objects: Swift's 409, at once (no retries), CONFLICT
      await expect(deleteContainer(session, container)).rejects.toMatchObject({
        code: 'CONFLICT',
        status: 409,
      });
      expect(lines.filter((l) => l.msg === 'openstack request refused, retrying')).toEqual([]);

      expect(await getObject(session, container, 'nothing')).toBeNull();
      expect(await headObject(session, container, 'nothing')).toBeNull();
    } finally {
      for (const object of await listObjects(session, container))
        await deleteObject(session, container, object.name);
    }
    expect(await deleteObject(session, container, name)).toBe(false);
    expect(await listObjects(session, container)).toEqual([]);
    expect(await deleteContainer(session, container)).toBe(true);
    expect(await deleteContainer(session, container)).toBe(false);
    expect(await listContainers(session, { prefix: container })).toEqual([]);
    await expect(listObjects(session, container)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
