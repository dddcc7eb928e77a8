import { type SealedSecret } from '@coffer/contracts';
import {
  generateGuestSecret,
  guestSecretAtRestKey,
  openSecret,
  sealSecret,
} from '@coffer/contracts/crypto';

/**
 * A guest's own secret at rest (Instance.guestSecretEnc): sealed with a key derived from the
 * master key, bound to its instance by the associated data `guest-secret:<instanceId>`, so a
 * sealed secret copied onto another row does not open.
 */

function associatedData(instanceId: string): string {
  return `guest-secret:${instanceId}`;
}

export function sealGuestSecret(
  masterKey: string,
  instanceId: string,
  guestSecret: string,
): SealedSecret {
  return sealSecret(guestSecretAtRestKey(masterKey), guestSecret, associatedData(instanceId));
}

/** Throws SealError when the value was not sealed for this instance with this master key. */
export function openGuestSecret(masterKey: string, instanceId: string, sealed: string): string {
  return openSecret(guestSecretAtRestKey(masterKey), sealed, associatedData(instanceId));
}

export { generateGuestSecret };
