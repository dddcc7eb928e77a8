import {
  backupKeyAad,
  backupStoreAad,
  type ObjectStoreConfig,
  type SealedSecret,
} from '@coffer/contracts';
import { projectBackupKey } from '@coffer/contracts/crypto';
import { type GuestClient } from '@coffer/guest-client';
import { createObjectStore, type ObjectStore } from '@coffer/objectstore';

import { type WorkerSettings } from '../settings';
import { OperationFailure } from '../taskmanager/operation';

/**
 * The control plane's side of backup storage: the store the settings name, and what a
 * guest is given for one operation. The project's backup key is derived from the master key
 * here, and leaves only sealed with that guest's sealing key, bound to the operation (the
 * guest never stores it); the store's settings (Swift's credentials) travel the same way.
 */

export function requireBackupStore(settings: WorkerSettings): ObjectStoreConfig {
  if (!settings.backupStore) {
    throw new OperationFailure('Backups are not configured on this Coffer (no object store).');
  }
  return settings.backupStore;
}

/** The store, for the worker's own use (removing a backup's objects). Close it after use. */
export function openBackupStore(settings: WorkerSettings): ObjectStore {
  return createObjectStore(requireBackupStore(settings));
}

/** The project's key and the store, sealed for this guest and this operation (a backup's id, or a restore point's). */
export function sealBackupAccess(
  client: GuestClient,
  settings: WorkerSettings,
  projectId: string,
  operationId: string,
): { key: SealedSecret; store: SealedSecret } {
  const store = requireBackupStore(settings);
  return {
    key: client.sealSecret(
      projectBackupKey(settings.masterKey, projectId).toString('base64'),
      backupKeyAad(operationId),
    ),
    store: client.sealSecret(JSON.stringify(store), backupStoreAad(operationId)),
  };
}

/** Removes a backup's objects; never throws (returns the error), for clean-up paths. */
export async function removeBackupObjects(
  settings: WorkerSettings,
  location: string,
): Promise<{ removed: number } | { error: Error }> {
  let store: ObjectStore | null = null;
  try {
    store = openBackupStore(settings);
    return { removed: await store.deletePrefix(location) };
  } catch (error) {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  } finally {
    await store?.close();
  }
}
