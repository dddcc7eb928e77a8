import http from 'node:http';
import https from 'node:https';

import { type FetchLike } from '@coffer/openstack';

/**
 * A `fetch` for `KeystoneAuth` over `node:http`: Keystone is asked through it so that the
 * guest, which bundles this store, never loads undici (Node's `fetch`, `Headers` and
 * `Response` are undici, megabytes of heap for one token request). It answers only what
 * `@coffer/openstack`'s request core reads: `ok`, `status`, `headers.get`, `text()` and
 * `arrayBuffer()`; the request's `signal` (its timeout) aborts the exchange.
 */
export function nodeFetch(agent?: http.Agent): FetchLike {
  return (input, init) =>
    new Promise((resolve, reject) => {
      const url = new URL(input);
      const transport = url.protocol === 'https:' ? https : http;
      const body =
        init.body === undefined || init.body === null
          ? undefined
          : typeof init.body === 'string'
            ? Buffer.from(init.body)
            : Buffer.from(init.body as Uint8Array);
      const headers = { ...(init.headers as Record<string, string> | undefined) };
      if (body) headers['content-length'] = String(body.length);
      const request = transport.request(
        url,
        {
          method: init.method ?? 'GET',
          headers,
          agent,
          signal: init.signal ?? undefined,
        },
        (response) => {
          const parts: Buffer[] = [];
          response.on('data', (part: Buffer) => parts.push(part));
          response.on('error', reject);
          response.on('end', () => {
            const bytes = Buffer.concat(parts);
            const status = response.statusCode ?? 0;
            const answer = {
              ok: status >= 200 && status < 300,
              status,
              headers: {
                get(name: string): string | null {
                  const value = response.headers[name.toLowerCase()];
                  if (value === undefined) return null;
                  return Array.isArray(value) ? value.join(', ') : value;
                },
              },
              text: () => Promise.resolve(bytes.toString('utf8')),
              arrayBuffer: () =>
                Promise.resolve(
                  bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
                ),
            };
            resolve(answer as unknown as Response);
          });
        },
      );
      request.on('error', (error) => {
        // The request core tells a timeout by the name fetch gives it.
        if (init.signal?.aborted && init.signal.reason instanceof Error) reject(init.signal.reason);
        else reject(new TypeError('fetch failed', { cause: error }));
      });
      request.end(body);
    });
}
