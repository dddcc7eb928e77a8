import 'server-only';

import { createLogger } from '@coffer/runtime/logger';

import { env } from '~/env';

/**
 * The web app's logger (@coffer/runtime/logger: JSON lines, secrets redacted wherever they
 * might appear, and a debug copy in COFFER_TEST_LOG_DIR when a test run sets it). Request
 * handlers use a child logger with the request id and the user.
 */
export const logger = createLogger({ service: 'coffer-web', level: env.LOG_LEVEL });
