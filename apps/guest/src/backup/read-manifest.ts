import { BACKUP_MANIFEST_NAME, type BackupManifest, type RestoreBackup } from '@coffer/contracts';
import { ObjectNotFoundError, type ObjectStore } from '@coffer/objectstore';

import { TenantFacingError } from '../errors';
import { parseManifest, sha256Hex, type ExpectedDatastore } from './manifest';

/** A completed backup's manifest from the store: its SHA-256 must be the one the control plane recorded. */
export async function readManifest(
  store: ObjectStore,
  backup: RestoreBackup,
  datastore: ExpectedDatastore,
): Promise<BackupManifest> {
  let bytes: Buffer;
  try {
    bytes = await store.get(`${backup.location}${BACKUP_MANIFEST_NAME}`);
  } catch (error) {
    if (error instanceof ObjectNotFoundError)
      throw new TenantFacingError(
        `Backup ${backup.backupId}: its manifest is missing from the object store.`,
      );
    throw error;
  }
  if (sha256Hex(bytes) !== backup.manifestSha256) {
    throw new TenantFacingError(
      `Backup ${backup.backupId}: its manifest is damaged (its SHA-256 is not the one recorded when the backup completed).`,
    );
  }
  return parseManifest(bytes, backup, datastore);
}
