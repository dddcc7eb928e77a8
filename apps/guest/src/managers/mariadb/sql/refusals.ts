import { type GuestFailure } from '@coffer/contracts';

import { RequestRefusedError } from '../../../errors';

/** MySQL error numbers the admin SQL turns into answers a tenant can act on. */
export const ER_DB_CREATE_EXISTS = 1007;
export const ER_DB_DROP_EXISTS = 1008;
export const ER_UNKNOWN_CHARACTER_SET = 1115;
export const ER_COLLATION_CHARSET_MISMATCH = 1253;
export const ER_UNKNOWN_COLLATION = 1273;
export const ER_CANNOT_USER = 1396;

export function errnoOf(error: unknown): number | undefined {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

/** Fails with an answer the caller can fix (see RequestRefusedError): nothing was changed. */
export function refuse(failure: GuestFailure): never {
  throw new RequestRefusedError(failure);
}

/** `name@host`, as refusals and the access lists name an account. */
export function accountName(name: string, host: string): string {
  return `${name}@${host}`;
}
