import { isIP } from 'node:net';

import {
  parseSettings,
  postgresUrlSetting,
  redisUrlSetting,
  sharedSettings,
} from '@coffer/runtime/settings';
import { z } from 'zod';

/**
 * The web app's configuration, parsed once at boot (instrumentation.ts imports this file), so
 * a bad or missing setting stops the server with a clear message instead of failing later.
 * Nothing else in apps/web reads process.env. The settings the worker reads too (master key,
 * heartbeat expiry, queue prefix, quotas, log level) are declared once, in
 * @coffer/runtime/settings, so both processes accept the same values.
 */

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
  DATABASE_URL: postgresUrlSetting,
  REDIS_URL: redisUrlSetting,
  BETTER_AUTH_SECRET: z.string().min(32, 'BETTER_AUTH_SECRET must be at least 32 characters'),
  BETTER_AUTH_URL: z.url({ error: 'BETTER_AUTH_URL must be the public URL of the console' }),
  /** Seals secrets that travel in job payloads; base64 of 32 bytes. */
  COFFER_MASTER_KEY: sharedSettings.COFFER_MASTER_KEY,
  COFFER_HEARTBEAT_EXPIRY_SECONDS: sharedSettings.COFFER_HEARTBEAT_EXPIRY_SECONDS,
  COFFER_MAX_VOLUME_GB: z.coerce.number().int().min(1).max(16_384).default(100),
  /** Default quotas of a project (operators override them per project; -1: unlimited). */
  COFFER_QUOTA_INSTANCES: sharedSettings.COFFER_QUOTA_INSTANCES,
  COFFER_QUOTA_VOLUME_GB: sharedSettings.COFFER_QUOTA_VOLUME_GB,
  COFFER_QUOTA_BACKUPS: sharedSettings.COFFER_QUOTA_BACKUPS,
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
  /** A replica lagging more than this many seconds gets an alert (issue 16, services/metrics/alerts.ts). */
  COFFER_ALERT_REPLICATION_LAG_SECONDS: z.coerce.number().int().min(1).max(86_400).default(30),
  /**
   * When (HH:MM, UTC) a new instance's default daily full backup first runs: the next such time at
   * least an hour away (services/backup/default-backup-schedule.ts).
   */
  COFFER_DEFAULT_BACKUP_WINDOW: z
    .string()
    .regex(
      /^([01]\d|2[0-3]):[0-5]\d$/,
      'COFFER_DEFAULT_BACKUP_WINDOW must be HH:MM (UTC), such as 03:00',
    )
    .default('03:00'),
  /**
   * The SMTP server invitations and password resets are sent through: smtp://host:587
   * (STARTTLS when offered), smtps://host:465, credentials in the URL
   * (smtp://user:pass@host:587, URL-encoded). Empty: no mail; an owner is shown the invitation
   * link to pass on, and password reset by email is unavailable (docs/configuration.md).
   */
  COFFER_SMTP_URL: z
    .string()
    .trim()
    .default('')
    .refine(
      (value) => value === '' || /^smtps?:\/\/[^/\s]+(\/.*)?$/.test(value),
      'COFFER_SMTP_URL must be smtp://host:port or smtps://host:port (user:password@ optional)',
    ),
  /** The From of Coffer's mail. */
  COFFER_SMTP_FROM: z.string().trim().min(3).default('Coffer <coffer@localhost>'),
  /** BullMQ key prefix of the taskmanager queue; must be the worker's (tests give each file its own). */
  COFFER_QUEUE_PREFIX: sharedSettings.COFFER_QUEUE_PREFIX,
  LOG_LEVEL: sharedSettings.LOG_LEVEL,
});

export type Env = z.infer<typeof schema>;

function parseEnv(): Env {
  const result = parseSettings(schema, process.env);
  if (!result.ok) {
    throw new Error(`Coffer web: invalid configuration\n${result.problems.join('\n')}`);
  }
  return result.data;
}

export const env: Env = parseEnv();
