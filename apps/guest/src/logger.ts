import { pino, type Logger } from 'pino';

import { type GuestAgentConfig } from '@coffer/contracts';

/** JSON lines on stdout (the compute provider sends them to the instance's log), secrets redacted. */
export function createLogger(
  level: GuestAgentConfig['logLevel'],
  bindings: Record<string, unknown> = {},
): Logger {
  return pino({
    level,
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
  });
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
