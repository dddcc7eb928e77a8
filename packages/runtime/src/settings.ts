import { DEFAULT_HEARTBEAT_EXPIRY_SECONDS } from '@coffer/contracts';
import { z } from 'zod';

/**
 * The settings the web app and the worker both read, declared once so both processes accept
 * and refuse the same values. Each app's env.ts picks the ones it needs by name and adds its
 * own; messages name no variable (the report of {@link parseSettings} does).
 */

/** Empty strings count as unset (a shell's `FOO=` should not fail a URL check). */
export const optionalSetting = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

export const urlWithProtocols = (protocols: readonly string[], hint: string) =>
  z
    .string()
    .min(1)
    .refine((value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, hint);

export const postgresUrlSetting = urlWithProtocols(
  ['postgres:', 'postgresql:'],
  'must be a postgresql:// URL',
);
export const redisUrlSetting = urlWithProtocols(
  ['redis:', 'rediss:'],
  'must be a redis:// or rediss:// URL',
);

/** A project's default quota: -1 is unlimited. */
const quotaSetting = z.coerce
  .number()
  .int('must be a whole number')
  .min(-1, 'must be a number of at least 0, or -1 for unlimited');

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const sharedSettings = {
  /** Base64 of 32 bytes: the root of the job-payload and guest-secret-at-rest keys. */
  COFFER_MASTER_KEY: z
    .string()
    .min(1)
    .refine(
      (value) => /^[A-Za-z0-9+/]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === 32,
      'must be the base64 of 32 bytes',
    ),
  /** Silence after which an instance is SHUTDOWN: the worker acts on it, the web app shows it. */
  COFFER_HEARTBEAT_EXPIRY_SECONDS: z.coerce
    .number()
    .int('must be a whole number of seconds')
    .min(3, 'must be at least 3 (seconds)')
    .max(3600, 'must be at most 3600 (seconds)')
    .default(DEFAULT_HEARTBEAT_EXPIRY_SECONDS),
  /** BullMQ key prefix of the taskmanager queue: the web app and the worker must use the same. */
  COFFER_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'may contain letters, digits, _ . -')
    .default('bull'),
  /** Default quotas of a project (operators override them per project). */
  COFFER_QUOTA_INSTANCES: quotaSetting.default(10),
  COFFER_QUOTA_VOLUME_GB: quotaSetting.default(200),
  /** Scheduled backups (the worker) count against it as much as the console's (the web app). */
  COFFER_QUOTA_BACKUPS: quotaSetting.default(50),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
} as const;

export type SettingsResult<T> = { ok: true; data: T } | { ok: false; problems: string[] };

/**
 * Parses `source` (an environment) with `schema`. On failure, one line per bad variable:
 * `  NAME: is not set` or `  NAME: <what it must be>`, for the app to print and stop on.
 */
export function parseSettings<S extends z.ZodType>(
  schema: S,
  source: Record<string, unknown>,
): SettingsResult<z.infer<S>> {
  const parsed = schema.safeParse(source);
  if (parsed.success) return { ok: true, data: parsed.data };
  const problems = parsed.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const isMissing = source[name] === undefined || source[name] === '';
    return `  ${name}: ${isMissing && issue.code !== 'custom' ? 'is not set' : issue.message}`;
  });
  return { ok: false, problems };
}
