// Cinder against the loopback OpenStack (fake volume driver, with the extend glue): a volume
// created with metadata, found by it, extended, refused a shrink, deleted and seen gone; the
// wait's timeout names the volume's state.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { adminSession, requireCloud, uniqueName } from '../test/cloud';
import {
  createVolume,
  deleteVolume,
  extendVolume,
  getVolume,
  listVolumes,
  setVolumeMetadata,
  waitForVolume,
  waitForVolumeDeleted,
} from './cinder';
import { OpenStackWaitError } from './wait';

beforeAll(requireCloud);

describe('Cinder', () => {
  it('creates a volume with metadata, lists it by metadata, extends it and deletes it', async () => {
    const session = adminSession();
    const instance = randomUUID();
    const created = await createVolume(session, {
      size: 1,
      name: uniqueName('vol'),
      metadata: { 'coffer-instance': instance },
    });
    try {
      expect(created).toMatchObject({ size: 1, metadata: { 'coffer-instance': instance } });
      const volume = await waitForVolume(session, created.id, 'available');
      expect(volume).toMatchObject({ status: 'available', volumeType: 'fake', attachments: [] });

      expect(
        (await listVolumes(session, { metadata: { 'coffer-instance': instance } })).map(
          (v) => v.id,
        ),
      ).toEqual([created.id]);
      expect(await listVolumes(session, { metadata: { 'coffer-instance': randomUUID() } })).toEqual(
        [],
      );
      expect((await listVolumes(session, { name: created.name })).map((v) => v.id)).toEqual([
        created.id,
      ]);

      // the wait's deadline names what it saw
      const timeout = (await waitForVolume(session, created.id, 'in-use', {
        timeoutMs: 300,
      }).catch((e: unknown) => e)) as OpenStackWaitError;
      expect(timeout).toBeInstanceOf(OpenStackWaitError);
      expect(timeout).toMatchObject({ reason: 'TIMEOUT', lastState: 'available, 1 GB' });

      await extendVolume(session, created.id, 2);
      expect(await waitForVolume(session, created.id, 'available', { size: 2 })).toMatchObject({
        size: 2,
      });
      // Cinder never shrinks
      await expect(extendVolume(session, created.id, 1)).rejects.toMatchObject({
        code: 'INVALID',
        status: 400,
        service: 'block-storage',
      });

      expect(await setVolumeMetadata(session, created.id, { role: 'datadir' })).toEqual({
        'coffer-instance': instance,
        role: 'datadir',
      });
    } finally {
      expect(await deleteVolume(session, created.id)).toBe(true);
    }
    await waitForVolumeDeleted(session, created.id);
    expect(await getVolume(session, created.id)).toBeNull();
    expect(await deleteVolume(session, created.id)).toBe(false);
    expect(await listVolumes(session, { metadata: { 'coffer-instance': instance } })).toEqual([]);
  });
});
