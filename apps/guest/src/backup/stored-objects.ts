import { type BackupChunk, type RestoreBackup } from '@coffer/contracts';
import { ObjectNotFoundError, type ObjectStore } from '@coffer/objectstore';

import { StoppedByShutdownError, TenantFacingError } from '../errors';

/** Reading a backup's objects back for a restore: a missing one is named in the tenant's words. */

/** The object, or null while it is not stored (yet). */
export async function getIfStored(store: ObjectStore, name: string): Promise<Buffer | null> {
  try {
    return await store.get(name);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return null;
    throw error;
  }
}

export async function getChunk(
  store: ObjectStore,
  backup: RestoreBackup,
  chunk: Pick<BackupChunk, 'index' | 'name'>,
  /** Read into this buffer where the store can (ObjectStore.getInto). */
  target?: Buffer,
): Promise<Buffer> {
  const name = `${backup.location}${chunk.name}`;
  try {
    return await (target && store.getInto ? store.getInto(name, target) : store.get(name));
  } catch (error) {
    if (error instanceof ObjectNotFoundError) {
      throw new TenantFacingError(
        `Backup ${backup.backupId}: chunk ${chunk.index} (${chunk.name}) is missing from the object store.`,
      );
    }
    throw new TenantFacingError(
      `Backup ${backup.backupId}: chunk ${chunk.index} (${chunk.name}) could not be read: ${(error as Error).message}`,
    );
  }
}

/** The restore stops at its next chunk (or poll) once the guest stops. */
export function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new StoppedByShutdownError('The restore');
}
