import { captureLogs } from '@coffer/testing/log-capture';
import { pino, type DestinationStream, type LevelWithSilent, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Keys whose values never reach a log line, wherever they appear (up to two levels deep): the
 * union of what the web app, the worker and the guest each redacted before they shared this.
 */
export const SECRET_KEYS = [
  'password',
  'token',
  'secret',
  'guestSecret',
  'guestSecretEnc',
  'masterKey',
  'redisUrl',
  'guestRedisUrl',
  'databaseUrl',
  'backupStore',
  'COFFER_MASTER_KEY',
  'DATABASE_URL',
  'REDIS_URL',
  'COFFER_GUEST_REDIS_URL',
  'COFFER_SWIFT_KEY',
  'COFFER_OPENSTACK_PASSWORD',
  'COFFER_OPENSTACK_APPLICATION_CREDENTIAL_SECRET',
] as const;

/** pino's redaction paths: every secret key at depth 0-2, plus the shapes that hold one deeper. */
export const REDACTED_PATHS: readonly string[] = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((key) => `*.${key}`),
  ...SECRET_KEYS.map((key) => `*.*.${key}`),
  'users[*].password',
  '*.users[*].password',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  // ioredis' ReplyError carries the command that failed: AUTH's are a user and a password.
  'err.command.args',
  '*.err.command.args',
  'error.command.args',
];

export const REDACTED = '[redacted]';

export interface LoggerOptions {
  /** `coffer-web`, `coffer-worker`, `coffer-guest`: on every line, and the test capture's file name. */
  service: string;
  level: LevelWithSilent;
  /** Fields on every line (e.g. the guest's instanceId). */
  bindings?: Record<string, unknown>;
  /** Where lines go instead of stdout (tests that read what was logged). */
  destination?: DestinationStream;
}

/**
 * JSON lines on stdout, secrets redacted; and a debug copy in COFFER_TEST_LOG_DIR when a test
 * run sets it (@coffer/testing/log-capture), which the secret scan reads.
 */
export function createLogger({
  service,
  level,
  bindings = {},
  destination,
}: LoggerOptions): Logger {
  const capture = destination ? { level, stream: destination } : captureLogs(pino, service, level);
  return pino(
    {
      level: capture.level,
      base: { service, pid: process.pid, ...bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACTED_PATHS], censor: REDACTED },
    },
    capture.stream,
  );
}

/** A URL fit for a log line: its password replaced. */
export function redactUrl(url: string): string;
export function redactUrl(url: string | undefined): string | undefined;
export function redactUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = 'redacted';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
