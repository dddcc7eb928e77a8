import 'server-only';

import pino from 'pino';

import { env } from '~/env';

/**
 * The web app's logger: JSON lines, secrets redacted wherever they might appear. Request
 * handlers use a child logger with the request id and the user.
 */
export const logger = pino({
  name: 'coffer-web',
  level: env.LOG_LEVEL,
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
});
