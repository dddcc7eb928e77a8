import { createLogger as createServiceLogger, type Logger } from '@coffer/runtime/logger';

import { type GuestAgentConfig } from '@coffer/contracts';

export { redactUrl } from '@coffer/runtime/logger';

/**
 * The guest's logger (@coffer/runtime/logger, bundled into dist/guest.mjs): JSON lines on
 * stdout, which the compute provider sends to the instance's log, secrets redacted.
 */
export function createLogger(
  level: GuestAgentConfig['logLevel'],
  bindings: Record<string, unknown> = {},
): Logger {
  return createServiceLogger({ service: 'coffer-guest', level, bindings });
}
