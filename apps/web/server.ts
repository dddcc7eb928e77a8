/**
 * The console's production server (`npm run start -- -p <port> -H <host>`): Next.js behind
 * Coffer's edge (src/server/http/console-server.ts), which decides the client's address
 * before Next sees a request. `next start` cannot: it keeps whatever X-Forwarded-For a client
 * sends. Run with tsx (`node --import tsx server.ts`), as the worker is.
 */
import { parseArgs } from 'node:util';

import { createLogger } from '@coffer/runtime/logger';
import { installShutdownHandlers } from '@coffer/runtime/shutdown';

// As `next start` does: a production server unless told otherwise (before Next or React load).
// eslint-disable-next-line no-restricted-properties -- Next and React read NODE_ENV themselves.
(process.env as Record<string, string | undefined>).NODE_ENV ??= 'production';

const { values } = parseArgs({
  options: {
    port: { type: 'string', short: 'p', default: '3000' },
    hostname: { type: 'string', short: 'H', default: '0.0.0.0' },
  },
});
const port = Number(values.port);
const hostname = values.hostname;

const { env } = await import('./src/env');
const { createConsoleServer } = await import('./src/server/http/console-server');
const { default: next } = await import('next');

const logger = createLogger({ service: 'coffer-web', level: env.LOG_LEVEL });
const app = next({ dev: false, dir: import.meta.dirname, hostname, port });
await app.prepare();
const server = createConsoleServer(app.getRequestHandler(), {
  trustedProxies: env.COFFER_TRUSTED_PROXIES,
  logger,
});
server.listen(port, hostname, () => {
  logger.info(
    { port, host: hostname, trustedProxies: env.COFFER_TRUSTED_PROXIES },
    'console listening',
  );
});

// Stopping is bounded: a close that hangs exits 1 after 15 s; a second signal exits at once.
installShutdownHandlers(
  [
    {
      name: 'http server',
      // Live-status streams never end by themselves: close idle connections now, the rest after a grace period.
      close: () => {
        server.close();
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      },
    },
    { name: 'next', close: () => app.close() },
  ],
  logger,
  { timeoutMs: 15_000 },
);
