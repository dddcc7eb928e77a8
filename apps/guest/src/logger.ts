import { captureLogs } from '@coffer/testing/log-capture';
import { pino, type Logger } from 'pino';

import { type GuestAgentConfig } from '@coffer/contracts';

/**
 * JSON lines on stdout (the compute provider sends them to the instance's log), secrets
 * redacted; and a debug copy in COFFER_TEST_LOG_DIR when a test run sets it.
 */
export function createLogger(
  level: GuestAgentConfig['logLevel'],
  bindings: Record<string, unknown> = {},
): Logger {
  const capture = captureLogs(pino, 'coffer-guest', level);
  return pino(
    {
      level: capture.level,
      base: { service: 'coffer-guest', pid: process.pid, ...bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'guestSecret',
          '*.guestSecret',
          'redisUrl',
          '*.redisUrl',
          'password',
          '*.password',
          '*.*.password',
          'users[*].password',
          '*.users[*].password',
        ],
        censor: '[redacted]',
      },
    },
    capture.stream,
  );
}

/** A Redis URL fit for a log line: the password replaced. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = 'redacted';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
