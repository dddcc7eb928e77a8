import { z } from 'zod';

/**
 * Input rules shared by the API (which answers bad input with field errors) and the guest
 * (which re-checks before it touches the server). Modelled on Trove's MySQL rules, stricter
 * where stricter is safer: identifiers are plain ASCII, so no look-alike or quoting trick
 * can pass.
 */

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
export const SYSTEM_SCHEMAS = ['mysql', 'information_schema', 'performance_schema', 'sys', 'lost+found'] as const;

/** The guest's own account on its server (Trove's os_admin): hidden from tenants, untouchable. */
export const GUEST_ADMIN_USER = 'coffer_admin';

/** Accounts no tenant may create, see or change. */
export const RESERVED_USERS = ['root', GUEST_ADMIN_USER, 'mariadb.sys', 'mysql', 'public'] as const;

export const DATABASE_NAME_MAX = 64;
export const databaseNameSchema = z
  .string()
  .min(1, 'Database name is required')
  .max(DATABASE_NAME_MAX, `Database name must be at most ${DATABASE_NAME_MAX} characters`)
  .regex(
    /^[A-Za-z0-9_][A-Za-z0-9_$-]*$/,
    'Database name may contain only ASCII letters, digits, _, $ and -',
  )
  .refine((name) => !(SYSTEM_SCHEMAS as readonly string[]).includes(name.toLowerCase()), {
    message: 'This is a system schema and cannot be used',
  });

export const USER_NAME_MAX = 32;
export const userNameSchema = z
  .string()
  .min(1, 'User name is required')
  .max(USER_NAME_MAX, `User name must be at most ${USER_NAME_MAX} characters`)
  .regex(
    /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/,
    'User name may contain only ASCII letters, digits, _, . and -',
  )
  .refine((name) => !(RESERVED_USERS as readonly string[]).includes(name.toLowerCase()), {
    message: 'This user name is reserved',
  });

/**
 * A MySQL account host: `%`, `localhost`, an IPv4 address or pattern with `%`/`_`
 * wildcards, an address/netmask pair, or a host name (optionally with wildcards).
 */
export const userHostSchema = z
  .string()
  .min(1, 'Host is required')
  .max(255, 'Host must be at most 255 characters')
  .regex(
    /^(%|localhost|[0-9%_]+(\.[0-9%_]+){0,3}(\/[0-9.]+)?|[A-Za-z0-9%_]([A-Za-z0-9%_-]*)(\.[A-Za-z0-9%_-]+)*)$/,
    'Host must be %, localhost, an IPv4 address or pattern (10.0.%), address/netmask, or a host name',
  );

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

/** MySQL character set and collation names (the server rejects unknown ones). */
export const characterSetSchema = z
  .string()
  .regex(/^[a-z0-9]{1,32}$/, 'Character set must be a name such as utf8mb4');
export const collationSchema = z
  .string()
  .regex(/^[a-z0-9_]{1,64}$/, 'Collation must be a name such as utf8mb4_unicode_ci');

export const initialDatabaseSchema = z.object({
  name: databaseNameSchema,
  characterSet: characterSetSchema.optional(),
  collation: collationSchema.optional(),
});
export type InitialDatabase = z.infer<typeof initialDatabaseSchema>;
