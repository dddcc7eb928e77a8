import { captureLogs } from '@coffer/testing/log-capture';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/** Keys whose values never reach a log line, wherever they appear (two levels deep). */
const SECRET_KEYS = [
  'guestSecret',
  'guestSecretEnc',
  'password',
  'masterKey',
  'redisUrl',
  'guestRedisUrl',
  'databaseUrl',
  'COFFER_MASTER_KEY',
  'DATABASE_URL',
  'REDIS_URL',
  'COFFER_GUEST_REDIS_URL',
  'COFFER_SWIFT_KEY',
  'backupStore',
];

/**
 * JSON lines on stdout, secrets redacted; and a debug copy in COFFER_TEST_LOG_DIR when a test
 * run sets it (@coffer/testing).
 */
export function createLogger(
  level: LevelWithSilent,
  bindings: Record<string, unknown> = {},
): Logger {
  const capture = captureLogs(pino, 'coffer-worker', level);
  return pino(
    {
      level: capture.level,
      base: { service: 'coffer-worker', pid: process.pid, ...bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          ...SECRET_KEYS,
          ...SECRET_KEYS.map((key) => `*.${key}`),
          ...SECRET_KEYS.map((key) => `*.*.${key}`),
          'users[*].password',
          '*.users[*].password',
        ],
        censor: '[redacted]',
      },
    },
    capture.stream,
  );
}

/** A URL fit for a log line: its password replaced. */
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
