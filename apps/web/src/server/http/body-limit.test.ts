import { request as httpRequest } from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createHarness, type Harness } from '~/test/harness';
import {
  freshLoopbackAddress,
  requestFrom,
  startConsoleServer,
  type TestConsoleServer,
} from '~/test/http';

/**
 * Request bodies are bounded, over real HTTP through the real route handlers of the API and
 * of sign-in: a larger body is answered 413, declared or chunked without a length, and a
 * chunked one is cut off at the limit, not read to its end.
 */

const LIMIT = 64 * 1024;
let h: Harness;
let server: TestConsoleServer;
/** Bytes the server had read from each connection when it answered. */
const bytesReadAtAnswer: number[] = [];

beforeAll(async () => {
  process.env.COFFER_MAX_BODY_BYTES = String(LIMIT);
  h = await createHarness();
  const trpcRoute = await import('~/app/api/trpc/[trpc]/route');
  const authRoute = await import('~/app/api/auth/[...all]/route');
  server = await startConsoleServer(
    {
      '/api/trpc': (request) =>
        request.method === 'GET' ? trpcRoute.GET(request) : trpcRoute.POST(request),
      '/api/auth': (request) =>
        request.method === 'GET' ? authRoute.GET(request) : authRoute.POST(request),
    },
    { onResponse: (req) => bytesReadAtAnswer.push(req.socket.bytesRead) },
  );
});
afterAll(async () => {
  await server?.close();
  await h?.close();
});

const json = { 'content-type': 'application/json', origin: 'http://localhost:3100' };

/** Streams up to `total` bytes with no content-length (chunked) until the server answers. */
function streamChunked(path: string, total: number): Promise<{ status: number; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let status = 0;
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: server.port,
        localAddress: freshLoopbackAddress(),
        method: 'POST',
        path,
        headers: json,
      },
      (res) => {
        status = res.statusCode ?? 0;
        res.resume();
        res.on('end', () => resolve({ status, sent }));
      },
    );
    // Writing into a connection the server closed fails; the answer came first.
    req.on('error', (error) => (status ? resolve({ status, sent }) : reject(error)));
    const chunk = Buffer.alloc(16 * 1024, 'a');
    const write = () => {
      while (sent < total && !status) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', write);
      }
      if (!status) req.end();
    };
    req.write('{"json":{"name":"');
    write();
  });
}

describe('request bodies', () => {
  it('within the limit are handled as usual', async () => {
    const email = `within-${Date.now()}@example.com`;
    const signUp = await requestFrom(freshLoopbackAddress(), server.port, {
      method: 'POST',
      path: '/api/auth/sign-up/email',
      headers: json,
      body: JSON.stringify({ name: 'Within', email, password: 'long-enough-password' }),
    });
    expect(signUp.status).toBe(200);
    expect(await h.prisma.user.count({ where: { email } })).toBe(1);

    // The body reached tRPC whole: the call is refused for want of a session, not as unreadable.
    const call = await requestFrom(freshLoopbackAddress(), server.port, {
      method: 'POST',
      path: '/api/trpc/project.create',
      headers: json,
      body: JSON.stringify({
        json: { name: 'fine', filler: Array.from({ length: 400 }, () => 'x'.repeat(100)) },
      }),
    });
    expect(call.status).toBe(401);
  });

  it('declared larger than the limit are answered 413 at once, by the API and by sign-in', async () => {
    const big = JSON.stringify({ json: { name: 'x'.repeat(20 * 1024 * 1024) } });
    for (const path of ['/api/trpc/project.create', '/api/auth/sign-up/email']) {
      const answer = await requestFrom(freshLoopbackAddress(), server.port, {
        method: 'POST',
        path,
        headers: json,
        body: big,
      }).catch((error: unknown) => ({ status: -1, text: String(error), headers: {} }));
      expect(answer.status, path).toBe(413);
      expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    }
  });

  it('sent chunked without a length are cut off at the limit with 413, not read to their end', async () => {
    for (const path of ['/api/trpc/project.create', '/api/auth/sign-up/email']) {
      bytesReadAtAnswer.length = 0;
      const { status, sent } = await streamChunked(path, 20 * 1024 * 1024);
      expect(status, path).toBe(413);
      expect(sent, path).toBeLessThan(20 * 1024 * 1024);
      // What the server read before answering: the limit and a few chunks in flight, no more.
      expect(bytesReadAtAnswer[0], path).toBeLessThan(LIMIT + 512 * 1024);
    }
  });
});
