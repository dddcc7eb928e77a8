import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import {
  deriveKey,
  guestKeys,
  isValidSignature,
  openSecret,
  SealError,
  sealSecret,
  signBody,
} from './crypto';

describe('sealing', () => {
  const key = deriveKey(randomBytes(32), 'test');

  it('round-trips and uses a fresh IV each time', () => {
    const a = sealSecret(key, 's3cret-Passw0rd', 'user:app');
    const b = sealSecret(key, 's3cret-Passw0rd', 'user:app');
    expect(a).not.toBe(b);
    expect(openSecret(key, a, 'user:app')).toBe('s3cret-Passw0rd');
  });

  it('refuses a wrong key, wrong associated data or a flipped byte', () => {
    const sealed = sealSecret(key, 'hello', 'ad');
    expect(() => openSecret(deriveKey(randomBytes(32), 'test'), sealed, 'ad')).toThrow(SealError);
    expect(() => openSecret(key, sealed, 'other')).toThrow(SealError);
    const parts = sealed.split('.');
    const data = Buffer.from(parts[3]!, 'base64url');
    data[0] = data[0]! ^ 1;
    parts[3] = data.toString('base64url');
    expect(() => openSecret(key, parts.join('.'), 'ad')).toThrow(SealError);
  });
});

describe('signatures', () => {
  it('accepts the signer and refuses another secret or a changed body', () => {
    const { signing } = guestKeys(randomBytes(32).toString('base64'));
    const other = guestKeys(randomBytes(32).toString('base64')).signing;
    const signature = signBody(signing, '{"a":1}');
    expect(isValidSignature(signing, '{"a":1}', signature)).toBe(true);
    expect(isValidSignature(other, '{"a":1}', signature)).toBe(false);
    expect(isValidSignature(signing, '{"a":2}', signature)).toBe(false);
    expect(isValidSignature(signing, '{"a":1}', 'not-hex')).toBe(false);
  });
});
