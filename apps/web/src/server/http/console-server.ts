import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import { type Logger } from 'pino';

import { forwardClientAddress, trustedProxyList } from './client-address';

/**
 * The console's HTTP server: every request gets the one client address Coffer believes in
 * X-Forwarded-For (client-address.ts), then goes to `handle` (Next.js in production; the
 * tests mount the real route handlers). Plain Node, no Next import: tests build it too.
 */
export function createConsoleServer(
  handle: (request: IncomingMessage, response: ServerResponse) => Promise<void> | void,
  options: { trustedProxies: readonly string[]; logger: Pick<Logger, 'error'> },
): Server {
  const trusted = trustedProxyList(options.trustedProxies);
  return createServer((request, response) => {
    forwardClientAddress(request, trusted);
    Promise.resolve(handle(request, response)).catch((error: unknown) => {
      options.logger.error({ err: error, url: request.url }, 'request failed');
      if (!response.headersSent)
        response.writeHead(500, { 'content-type': 'text/plain', connection: 'close' });
      response.end('Internal Server Error');
    });
  });
}
