import 'server-only';

import { captureLogs } from '@coffer/testing/log-capture';
import pino from 'pino';

import { env } from '~/env';

/**
 * The web app's logger: JSON lines, secrets redacted wherever they might appear (and a debug
 * copy in COFFER_TEST_LOG_DIR when a test run sets it). Request handlers use a child logger
 * with the request id and the user.
 */
const capture = captureLogs(pino, 'coffer-web', env.LOG_LEVEL);

export const logger = pino(
  {
    name: 'coffer-web',
    level: capture.level,
    redact: {
      paths: [
        'password',
        '*.password',
        '*.*.password',
        'token',
        '*.token',
        'secret',
        '*.secret',
        'headers.authorization',
        'headers.cookie',
        'req.headers.authorization',
        'req.headers.cookie',
      ],
      censor: '[redacted]',
    },
  },
  capture.stream,
);
