import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { DestinationStream, LevelWithSilent, pino as Pino } from 'pino';

import { testLogDir } from './env';

/**
 * For test runs that scan their logs for secrets. With COFFER_TEST_LOG_DIR set, a process's
 * logger keeps writing what it writes (at its own level, to stdout), and also writes every
 * line from debug up, as JSON, to `<dir>/<service>-<pid>.log`, synchronously (a process
 * killed with SIGKILL has written all it logged). Without it, the level stays and no stream
 * is given (pino's own stdout): production is unchanged.
 *
 * Usage: `const { level, stream } = captureLogs(pino, 'coffer-worker', configured);
 * pino({ ...options, level }, stream)`. Each app passes its own pino (the guest bundles one).
 */
export function captureLogs(
  pino: typeof Pino,
  service: string,
  level: LevelWithSilent,
): { level: LevelWithSilent; stream?: DestinationStream } {
  const dir = testLogDir();
  if (!dir) return { level };
  mkdirSync(dir, { recursive: true });
  const file = pino.destination({
    dest: join(dir, `${service}-${process.pid}.log`),
    sync: true,
    append: true,
  });
  const captured = level === 'trace' ? 'trace' : 'debug';
  return {
    level: captured,
    stream: pino.multistream([
      ...(level === 'silent' ? [] : [{ level, stream: process.stdout }]),
      { level: captured, stream: file },
    ]),
  };
}

/** What a process passes on to the processes it starts with a bare environment (guests). */
export function captureLogsEnv(): Record<string, string> {
  const dir = testLogDir();
  return dir ? { COFFER_TEST_LOG_DIR: dir } : {};
}
