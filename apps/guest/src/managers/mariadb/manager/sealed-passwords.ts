import { replicationPasswordAad } from '@coffer/contracts';
import { guestKeys, openSecret, SealError } from '@coffer/contracts/crypto';

import { TenantFacingError } from '../../../errors';

/** A password the control plane sealed for this guest (associated data `user:<name>`). */
export function openUserPassword(guestSecret: string, sealed: string, userName: string): string {
  return openSealed(guestSecret, sealed, `user:${userName}`, `user ${userName}`);
}

/** A replication account's password the control plane sealed for this guest. */
export function openReplicationPassword(
  guestSecret: string,
  sealed: string,
  userName: string,
): string {
  return openSealed(
    guestSecret,
    sealed,
    replicationPasswordAad(userName),
    `the replication account ${userName}`,
  );
}

function openSealed(
  guestSecret: string,
  sealed: string,
  associatedData: string,
  whose: string,
): string {
  try {
    return openSecret(guestKeys(guestSecret).sealing, sealed, associatedData);
  } catch (error) {
    if (error instanceof SealError) {
      throw new TenantFacingError(
        `The password of ${whose} could not be opened: it was not sealed for this instance.`,
      );
    }
    throw error;
  }
}
