import { z } from 'zod';

import {
  characterSetOfCollation,
  isSupportedCharacterSet,
  isSupportedCollation,
} from './character-sets';

/**
 * Input rules shared by the API (which answers bad input with field errors) and the guest
 * (which re-checks before it touches the server). Modelled on Trove's MySQL rules, stricter
 * where stricter is safer: identifiers are plain ASCII, so no look-alike or quoting trick
 * can pass.
 */

/**
 * Text every input must be: no NUL (PostgreSQL cannot store it, and C code stops at it) and
 * no unpaired UTF-16 surrogate (not a character: UTF-8 cannot encode it). The API checks every
 * string of every input against this before any procedure runs (see `findUnsafeInput`).
 */
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when text holds a control character (C0, DEL or C1), NUL included. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

export function isSafeText(text: string): boolean {
  return !text.includes('\u0000') && !UNPAIRED_SURROGATE.test(text);
}

/** The longest string any input may hold, whatever the field (names are far shorter). */
export const INPUT_TEXT_MAX = 10_000;
/** How deeply an input's objects and arrays may nest. */
export const INPUT_DEPTH_MAX = 16;

export interface UnsafeInput {
  /** Dotted path of the offending value (`users.0.name`), `_` for the input itself. */
  path: string;
  message: string;
}

/**
 * The first string (value or key) of an input that is not safe text or is too long, or an
 * input nested too deeply; null when the whole input is fine. For the API's edge, so that no
 * procedure, present or future, can forget the check.
 */
export function findUnsafeInput(input: unknown): UnsafeInput | null {
  const visit = (value: unknown, path: (string | number)[]): UnsafeInput | null => {
    const at = path.join('.') || '_';
    if (typeof value === 'string') {
      if (!isSafeText(value))
        return { path: at, message: 'Text may not contain NUL characters or invalid Unicode' };
      if (value.length > INPUT_TEXT_MAX)
        return { path: at, message: `Text may be at most ${INPUT_TEXT_MAX} characters` };
      return null;
    }
    if (value === null || typeof value !== 'object') return null;
    if (path.length >= INPUT_DEPTH_MAX)
      return { path: at, message: 'The input is nested too deeply' };
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) {
        const found = visit(item, [...path, index]);
        if (found) return found;
      }
      return null;
    }
    if (value instanceof Date) return null;
    for (const [key, item] of Object.entries(value)) {
      if (!isSafeText(key) || key.length > 200)
        return { path: at, message: 'The input has an invalid field name' };
      const found = visit(item, [...path, key]);
      if (found) return found;
    }
    return null;
  };
  return visit(input, []);
}

/**
 * A free-text name a person types (a project, a token, a backup, a person): trimmed,
 * required, at most `max` characters, no control characters, safe text.
 */
export function displayNameSchema(label: string, max: number) {
  return z
    .string()
    .trim()
    .min(1, `${label} is required`)
    .max(max, `${label} must be at most ${max} characters`)
    .refine((text) => !hasControlCharacter(text), `${label} may not contain control characters`)
    .refine(isSafeText, `${label} may not contain invalid Unicode`);
}

export const INSTANCE_NAME_MAX = 64;
export const instanceNameSchema = z
  .string()
  .trim()
  .min(1, 'Name is required')
  .max(INSTANCE_NAME_MAX, `Name must be at most ${INSTANCE_NAME_MAX} characters`)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'Name may contain letters, digits, dots, dashes and underscores, and must start with a letter or digit',
  );

export const MIN_VOLUME_GB = 1;
export const MAX_VOLUME_GB = 100;
export const volumeSizeSchema = z
  .number({ error: 'Volume size must be a number of GB' })
  .int('Volume size must be a whole number of GB')
  .min(MIN_VOLUME_GB, `Volume size must be at least ${MIN_VOLUME_GB} GB`)
  .max(MAX_VOLUME_GB, `Volume size must be at most ${MAX_VOLUME_GB} GB`);

/** Schemas no tenant may create, see or drop. */
export const SYSTEM_SCHEMAS = [
  'mysql',
  'information_schema',
  'performance_schema',
  'sys',
  'lost+found',
] as const;

/** The guest's own account on its server (Trove's os_admin): hidden from tenants, untouchable. */
export const GUEST_ADMIN_USER = 'coffer_admin';

/** Accounts no tenant may create, see or change. */
export const RESERVED_USERS = ['root', GUEST_ADMIN_USER, 'mariadb.sys', 'mysql', 'public'] as const;
/** Prefixes of accounts Coffer makes for itself (`coffer_repl_<replica>`: replication, see replication.ts). */
export const RESERVED_USER_PREFIXES = ['coffer_repl_'] as const;

/** True for an account name no tenant may create, see or change. */
export function isReservedUserName(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    (RESERVED_USERS as readonly string[]).includes(lower) ||
    RESERVED_USER_PREFIXES.some((prefix) => lower.startsWith(prefix))
  );
}

/**
 * A name a tenant gives a server object: required, at most `max` characters, ASCII letters,
 * digits and `characters` only (not first), and not one the server or Coffer keeps.
 */
function objectNameSchema(
  label: string,
  max: number,
  { pattern, characters }: { pattern: RegExp; characters: string },
  { isKept, message }: { isKept: (name: string) => boolean; message: string },
) {
  return z
    .string()
    .min(1, `${label} is required`)
    .max(max, `${label} must be at most ${max} characters`)
    .regex(pattern, `${label} may contain only ASCII letters, digits, ${characters}`)
    .refine((name) => !isKept(name), { message });
}

export const DATABASE_NAME_MAX = 64;
export const databaseNameSchema = objectNameSchema(
  'Database name',
  DATABASE_NAME_MAX,
  { pattern: /^[A-Za-z0-9_][A-Za-z0-9_$-]*$/, characters: '_, $ and -' },
  {
    isKept: (name) => (SYSTEM_SCHEMAS as readonly string[]).includes(name.toLowerCase()),
    message: 'This is a system schema and cannot be used',
  },
);

export const USER_NAME_MAX = 32;
export const userNameSchema = objectNameSchema(
  'User name',
  USER_NAME_MAX,
  { pattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, characters: '_, . and -' },
  { isKept: isReservedUserName, message: 'This user name is reserved' },
);

/**
 * A MySQL account host, as the server can match it. The server runs with `skip-name-resolve`,
 * so a host *name* (or a pattern of names) would never match a client: only `%` (anywhere),
 * `localhost` (the socket), an IPv4 address, an IPv4 pattern with the `%` and `_` wildcards
 * (`10.0.%`, `192.168.1._`), or an address/netmask pair (`10.0.0.0/255.255.0.0`).
 */
export const USER_HOST_MAX = 255;
const HOST_ERROR =
  'Host must be %, localhost, an IPv4 address, a pattern such as 10.0.% or 192.168.1._, or address/netmask such as 10.0.0.0/255.255.0.0';

function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return null;
    value = value * 256 + Number(part);
  }
  return value;
}

function isIpv4Pattern(text: string): boolean {
  if (!/[%_]/.test(text)) return false;
  const parts = text.split('.');
  if (parts.length > 4) return false;
  // Fewer than four parts only as a prefix: the last one must end with % (10.0.% matches 10.0.x.y).
  if (parts.length < 4 && !parts.at(-1)!.endsWith('%')) return false;
  return parts.every((part) =>
    /[%_]/.test(part) ? /^[0-9%_]{1,3}$/.test(part) : parseIpv4(`${part}.0.0.0`) !== null,
  );
}

function isNetmaskPair(text: string): boolean {
  const [address, mask, ...rest] = text.split('/');
  if (rest.length > 0 || address === undefined || mask === undefined) return false;
  const addressValue = parseIpv4(address);
  const maskValue = parseIpv4(mask);
  if (addressValue === null || maskValue === null) return false;
  // A mask is ones then zeros; the address has no bits outside it (or it would match nothing).
  const inverted = 0xffffffff - maskValue;
  return (inverted & (inverted + 1)) === 0 && addressValue % (inverted + 1) === 0;
}

export function isValidUserHost(host: string): boolean {
  if (host === '%' || host === 'localhost') return true;
  return parseIpv4(host) !== null || isIpv4Pattern(host) || isNetmaskPair(host);
}

export const userHostSchema = z
  .string()
  .min(1, 'Host is required')
  .max(USER_HOST_MAX, `Host must be at most ${USER_HOST_MAX} characters`)
  .refine(isValidUserHost, HOST_ERROR);

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 128;
export const databasePasswordSchema = z
  .string()
  .min(PASSWORD_MIN, `Password must be at least ${PASSWORD_MIN} characters`)
  .max(PASSWORD_MAX, `Password must be at most ${PASSWORD_MAX} characters`)
  .regex(/^[\x21-\x7e]+$/, 'Password may contain only printable ASCII characters without spaces')
  .refine((value) => /[A-Za-z]/.test(value) && /[0-9]/.test(value), {
    message: 'Password must contain letters and digits',
  });

/** Character sets and collations the server supports (see character-sets.ts). */
export const characterSetSchema = z
  .string()
  .refine(
    isSupportedCharacterSet,
    'Unknown character set: choose one the server supports, such as utf8mb4',
  );
export const collationSchema = z
  .string()
  .refine(
    isSupportedCollation,
    'Unknown collation: choose one the server supports, such as utf8mb4_unicode_ci',
  );

/** A database to create: its name, and optionally its character set and a collation of that set. */
export const databaseSpecSchema = z
  .object({
    name: databaseNameSchema,
    characterSet: characterSetSchema.optional(),
    collation: collationSchema.optional(),
  })
  .superRefine((database, ctx) => {
    if (!database.characterSet || !database.collation) return;
    const owner = characterSetOfCollation(database.collation);
    if (
      owner &&
      isSupportedCharacterSet(database.characterSet) &&
      owner !== database.characterSet
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['collation'],
        message: `Collation ${database.collation} belongs to ${owner}, not to ${database.characterSet}`,
      });
    }
  });
export type DatabaseSpec = z.infer<typeof databaseSpecSchema>;

/** A database created with the instance. */
export const initialDatabaseSchema = databaseSpecSchema;
export type InitialDatabase = z.infer<typeof initialDatabaseSchema>;
