import 'server-only';

import { createHash, randomInt, timingSafeEqual } from 'node:crypto';

/**
 * The API token format: `cof_<publicId>_<secret>`. The prefix makes a leaked token easy to
 * recognise (and to scan for); the public id (12 characters) finds the row by a unique
 * index; the secret (43 characters of [A-Za-z0-9], about 256 bits) is what makes it
 * unguessable. Only a SHA-256 of the whole token is stored, and compared in constant time.
 */
export const API_TOKEN_PREFIX = 'cof_';
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const PUBLIC_ID_LENGTH = 12;
const SECRET_LENGTH = 43;
const TOKEN_PATTERN = new RegExp(
  `^${API_TOKEN_PREFIX}([A-Za-z0-9]{${PUBLIC_ID_LENGTH}})_([A-Za-z0-9]{${SECRET_LENGTH}})$`,
);

function randomString(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new token, its public id, and the hash to store. */
export function generateApiToken(): { token: string; publicId: string; secretHash: string } {
  const publicId = randomString(PUBLIC_ID_LENGTH);
  const token = `${API_TOKEN_PREFIX}${publicId}_${randomString(SECRET_LENGTH)}`;
  return { token, publicId, secretHash: hashApiToken(token) };
}

/** The public id of a well-formed token, or null. */
export function publicIdOf(token: string): string | null {
  return TOKEN_PATTERN.exec(token)?.[1] ?? null;
}

export function isSameTokenHash(storedHex: string, token: string): boolean {
  const stored = Buffer.from(storedHex, 'hex');
  const presented = Buffer.from(hashApiToken(token), 'hex');
  return stored.length === presented.length && timingSafeEqual(stored, presented);
}

/** How a token is shown in lists: its prefix and public id, never the secret. */
export function displayPrefixOf(publicId: string): string {
  return `${API_TOKEN_PREFIX}${publicId}_…`;
}
