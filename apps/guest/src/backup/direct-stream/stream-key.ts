import { replicaStreamKeyAad, type SealedSecret } from '@coffer/contracts';
import { guestKeys, openSecret, SealError } from '@coffer/contracts/crypto';

import { TenantFacingError } from '../../errors';

/** The snapshot's one-time stream key, opened from what the control plane sealed for this guest. */
export function openStreamKey(guestSecret: string, backupId: string, sealed: SealedSecret): Buffer {
  try {
    const key = Buffer.from(
      openSecret(guestKeys(guestSecret).sealing, sealed, replicaStreamKeyAad(backupId)),
      'base64',
    );
    if (key.length !== 32) throw new SealError();
    return key;
  } catch (error) {
    throw new TenantFacingError(
      'The direct stream key could not be opened: it was not sealed for this instance and snapshot.',
      undefined,
      { cause: error },
    );
  }
}
