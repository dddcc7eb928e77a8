import { createLogger as createServiceLogger, type Logger } from '@coffer/runtime/logger';
import { type LevelWithSilent } from 'pino';

export { redactUrl, type Logger } from '@coffer/runtime/logger';

/** The worker's logger (@coffer/runtime/logger: JSON lines, secrets redacted), named coffer-worker. */
export function createLogger(
  level: LevelWithSilent,
  bindings: Record<string, unknown> = {},
): Logger {
  return createServiceLogger({ service: 'coffer-worker', level, bindings });
}
