import { BACKUP_MANIFEST_NAME, backupManifestSchema } from '@coffer/contracts';
import { type ManifestSegment } from '@coffer/objectstore';

import { type WorkerSettings } from '../settings';
import { openBackupStore } from './backup-store';

/**
 * A completed backup in Swift as one object for Swift's own tools (`swift stat`,
 * `swift download`, a GET): `<backup prefix>backup.slo`, a Static Large Object whose segments
 * are the backup's chunk objects in order, so its size is the backup's stored size and its
 * bytes are the chunks' concatenation (compressed, then encrypted chunk by chunk: what it
 * gives is Coffer's ciphertext, for copying a backup elsewhere whole, not a database). An
 * incremental's holds its own chunks only.
 *
 * Coffer's own layout is unchanged: the chunks and Coffer's manifest (`manifest.json`) stay,
 * and restores read those only. The SLO manifest object lives under the backup's prefix, so
 * deleting the backup's prefix (`deletePrefix`: a plain DELETE of each object) removes it with
 * the chunks; a plain DELETE of an SLO removes the manifest and leaves the segments to
 * Coffer's own deletes. More than 1000 chunks (Swift's `max_manifest_segments`) are written
 * as nested manifests `backup.slo.part-<level>-NNNNNN`, under the same prefix.
 *
 * Written by the taskmanager after the guest reported COMPLETED (the guest never needs it),
 * from Coffer's manifest (the chunks, in order) and the container listing (their MD5s, which
 * Swift checks against each chunk before it stores the manifest). A store without SLOs (the
 * local directory) or `COFFER_SWIFT_SLO=off` writes nothing.
 */

export const BACKUP_SLO_NAME = 'backup.slo';

export type BackupSloOutcome =
  | { kind: 'written'; size: number; segments: number; manifests: number }
  | { kind: 'skipped'; reason: string };

/** Writes the backup's SLO; throws when the store refuses it (the backup itself is complete either way). */
export async function writeBackupSlo(
  settings: WorkerSettings,
  location: string,
): Promise<BackupSloOutcome> {
  if (settings.backupStore?.kind !== 'swift') return { kind: 'skipped', reason: 'not Swift' };
  if (!settings.backupSwiftSlo) return { kind: 'skipped', reason: 'COFFER_SWIFT_SLO=off' };
  const store = openBackupStore(settings);
  try {
    if (!store.putSegmentManifest) return { kind: 'skipped', reason: 'the store has no SLOs' };
    const manifest = backupManifestSchema.parse(
      JSON.parse((await store.get(`${location}${BACKUP_MANIFEST_NAME}`)).toString('utf8')),
    );
    const listed = new Map((await store.list(location)).map((object) => [object.name, object]));
    const segments: ManifestSegment[] = manifest.chunks.map((chunk) => {
      const name = `${location}${chunk.name}`;
      const object = listed.get(name);
      if (!object?.etag) throw new Error(`chunk ${name} is not listed in the container`);
      if (object.size !== chunk.size) {
        throw new Error(`chunk ${name} is ${object.size} bytes, the manifest says ${chunk.size}`);
      }
      return { name, etag: object.etag, size: chunk.size };
    });
    const written = await store.putSegmentManifest(`${location}${BACKUP_SLO_NAME}`, segments);
    return { kind: 'written', segments: segments.length, ...written };
  } finally {
    await store.close();
  }
}
