import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

import { type SealedSecret } from './sealed';

export { sealedSecretSchema, type SealedSecret } from './sealed';

/**
 * Node-only helpers for what crosses a boundary signed or sealed: HMACs on guest messages and
 * RPC, AES-256-GCM sealing of secrets that must travel (initial passwords, guest secrets at
 * rest). Imported as `@coffer/contracts/crypto`; never from browser code.
 */

/** Derives a 32-byte key for one purpose from a master secret (HKDF-SHA256). */
export function deriveKey(master: Buffer | string, purpose: string, salt = ''): Buffer {
  const ikm = typeof master === 'string' ? Buffer.from(master, 'base64') : master;
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.from(salt), Buffer.from(purpose), 32));
}

export function sealSecret(key: Buffer, plaintext: string, associatedData = ''): SealedSecret {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(associatedData));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `v1.${iv.toString('base64url')}.${tag.toString('base64url')}.${ciphertext.toString('base64url')}`;
}

export class SealError extends Error {
  constructor() {
    super('sealed secret could not be opened (wrong key or tampered data)');
    this.name = 'SealError';
  }
}

export function openSecret(key: Buffer, sealed: SealedSecret, associatedData = ''): string {
  const [version, ivText, tagText, dataText] = sealed.split('.');
  if (version !== 'v1' || ivText === undefined || tagText === undefined || dataText === undefined) {
    throw new SealError();
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'));
    decipher.setAAD(Buffer.from(associatedData));
    decipher.setAuthTag(Buffer.from(tagText, 'base64url'));
    return Buffer.concat([
      decipher.update(Buffer.from(dataText, 'base64url')),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    throw new SealError();
  }
}

/** Hex HMAC-SHA256 of a message body. */
export function signBody(secret: Buffer, body: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Constant-time check of a hex HMAC-SHA256. */
export function isValidSignature(secret: Buffer, body: string, signature: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(signature)) return false;
  const expected = Buffer.from(signBody(secret, body), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}

/** A fresh random secret for a guest (32 bytes, base64). */
export function generateGuestSecret(): string {
  return randomBytes(32).toString('base64');
}

/** The key that seals a guest's secret at rest in the control-plane database. */
export function guestSecretAtRestKey(masterKey: string): Buffer {
  return deriveKey(masterKey, 'coffer/guest-secret-at-rest');
}

/** The key that seals secrets in taskmanager job payloads (they sit in Redis until done). */
export function jobPayloadKey(masterKey: string): Buffer {
  return deriveKey(masterKey, 'coffer/job-payload');
}

/**
 * A project's backup key: backup chunks are sealed with it (AES-256-GCM). Derived from the
 * master key per project, so neither is ever stored; the control plane sends it to a guest
 * sealed for one operation at a time.
 */
export function projectBackupKey(masterKey: string, projectId: string): Buffer {
  return deriveKey(masterKey, 'coffer/backup-key', `project:${projectId}`);
}

/**
 * The password of an instance's own Redis user (guest Redis ACL): derived from the master key
 * per instance, so it is never stored and the control plane can set the user up again after
 * Redis lost it (ACL users live in memory unless Redis has an aclfile). base64url, 43 chars.
 */
export function guestRedisPassword(masterKey: string, instanceId: string): string {
  return deriveKey(masterKey, 'coffer/guest-redis-password', `instance:${instanceId}`).toString(
    'base64url',
  );
}

/** The keys one guest uses, derived from its own secret: signing, and sealing what it is sent. */
export function guestKeys(guestSecret: string): { signing: Buffer; sealing: Buffer } {
  return {
    signing: deriveKey(guestSecret, 'coffer/guest-signing'),
    sealing: deriveKey(guestSecret, 'coffer/guest-sealing'),
  };
}
