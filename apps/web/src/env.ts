import { isIP } from 'node:net';

import { z } from 'zod';

/**
 * The web app's configuration, parsed once at boot (instrumentation.ts imports this file), so
 * a bad or missing setting stops the server with a clear message instead of failing later.
 * Nothing else in apps/web reads process.env.
 */
const quota = z.coerce
  .number()
  .int()
  .min(-1, 'a quota is a number of at least 0, or -1 for unlimited');

/** `10.0.0.1`, `10.0.0.0/8`, `fd00::/8`: an address, or a network with a prefix that fits its family. */
export function isAddressOrCidr(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  DATABASE_URL: z.url({ error: 'DATABASE_URL must be a postgresql:// URL' }),
  REDIS_URL: z.url({ error: 'REDIS_URL must be a redis:// URL' }),
  BETTER_AUTH_SECRET: z.string().min(32, 'BETTER_AUTH_SECRET must be at least 32 characters'),
  BETTER_AUTH_URL: z.url({ error: 'BETTER_AUTH_URL must be the public URL of the console' }),
  /** Seals secrets that travel in job payloads; base64 of 32 bytes. */
  COFFER_MASTER_KEY: z
    .string()
    .refine(
      (value) => Buffer.from(value, 'base64').length === 32,
      'COFFER_MASTER_KEY must be 32 bytes in base64',
    ),
  COFFER_HEARTBEAT_EXPIRY_SECONDS: z.coerce.number().int().min(3).max(3600).default(15),
  COFFER_MAX_VOLUME_GB: z.coerce.number().int().min(1).max(16_384).default(100),
  /** Default quotas of a project (operators override them per project; -1: unlimited). */
  COFFER_QUOTA_INSTANCES: quota.default(10),
  COFFER_QUOTA_VOLUME_GB: quota.default(200),
  COFFER_QUOTA_BACKUPS: quota.default(50),
  /** Sign-in and sign-up attempts per client address and per account in a window (0: no limit). */
  COFFER_SIGN_IN_RATE_LIMIT_MAX: z.coerce.number().int().min(0).default(10),
  COFFER_SIGN_IN_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /**
   * Proxies in front of the console (comma-separated addresses or CIDRs) whose X-Forwarded-For
   * entries are trusted; the client's address is the last entry not added by one of them. With
   * none, it is the address of the connection (see src/server/http/client-address.ts).
   */
  COFFER_TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .refine(
      (entries) => entries.every(isAddressOrCidr),
      'COFFER_TRUSTED_PROXIES must be comma-separated IP addresses or CIDRs (10.0.0.0/8)',
    ),
  /** The largest request body the API and sign-in accept (413 beyond). */
  COFFER_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .default(1024 * 1024),
  /** tRPC calls per user (or per API token) in a window (0: no limit). */
  COFFER_API_RATE_LIMIT_MAX: z.coerce.number().int().min(0).default(600),
  COFFER_API_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /** How long the console waits for the answer of an instance (its databases, users, root) through the taskmanager. */
  COFFER_CALL_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
  /** BullMQ key prefix of the taskmanager queue; must be the worker's (tests give each file its own). */
  COFFER_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'COFFER_QUEUE_PREFIX may contain letters, digits, _ . -')
    .default('bull'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof schema>;

function parseEnv(): Env {
  const result = schema.safeParse(process.env);
  if (!result.success) {
    const problems = result.error.issues
      .map((issue) => `  ${issue.path.join('.')}: ${issue.message}`)
      .join('\n');
    throw new Error(`Coffer web: invalid configuration\n${problems}`);
  }
  return result.data;
}

export const env: Env = parseEnv();
