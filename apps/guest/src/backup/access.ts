import {
  backupKeyAad,
  backupStoreAad,
  objectStoreConfigSchema,
  type ObjectStoreConfig,
  type SealedSecret,
} from '@coffer/contracts';
import { guestKeys, openSecret, SealError } from '@coffer/contracts/crypto';

import { TenantFacingError } from '../errors';

/** The project's backup key and the object store, opened from what the control plane sealed for this operation. */
export function openBackupAccess(
  guestSecret: string,
  operationId: string,
  sealed: { key: SealedSecret; store: SealedSecret },
): { key: Buffer; store: ObjectStoreConfig } {
  const { sealing } = guestKeys(guestSecret);
  try {
    const key = Buffer.from(openSecret(sealing, sealed.key, backupKeyAad(operationId)), 'base64');
    if (key.length !== 32) throw new SealError();
    const store = objectStoreConfigSchema.parse(
      JSON.parse(openSecret(sealing, sealed.store, backupStoreAad(operationId))),
    );
    return { key, store };
  } catch (error) {
    throw new TenantFacingError(
      'The backup key or the object store settings could not be opened: they were not sealed for this instance and operation.',
      undefined,
      { cause: error },
    );
  }
}
