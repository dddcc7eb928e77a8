import { randomInt, randomUUID } from 'node:crypto';

import { registerSecret } from '@coffer/testing/secrets';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type * as AuthModuleNs from '~/server/auth';
import { callOverHttp, codeOf } from '~/test/callers';
import { createHarness, type Harness } from '~/test/harness';
import {
  freshLoopbackAddress,
  requestFrom,
  startConsoleServer,
  startForwardingProxy,
  type TestConsoleServer,
} from '~/test/http';

/**
 * Abuse limits: sign-in and sign-up per client address and per account (through better-auth's
 * real HTTP handler), and the API per user and per token (through callers and the tRPC HTTP
 * handler), each answering 429 with when to retry. Counters live in the test Redis.
 */

const SIGN_IN_MAX = 3;
let h: Harness;
let auth: (typeof AuthModuleNs)['auth'];

beforeAll(async () => {
  process.env.COFFER_SIGN_IN_RATE_LIMIT_MAX = String(SIGN_IN_MAX);
  process.env.COFFER_SIGN_IN_RATE_LIMIT_WINDOW_SECONDS = '60';
  process.env.COFFER_QUEUE_PREFIX = `test-ratelimit-${randomUUID().slice(0, 8)}`;
  h = await createHarness();
  ({ auth } = await import('~/server/auth'));
});
afterAll(async () => {
  await h?.close();
});

/** An address of its own for each test, so counters of one test never meet another's. */
function freshIp(): string {
  return `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
}

function authRequest(
  path: '/sign-in/email' | '/sign-up/email',
  body: Record<string, string>,
  ip: string,
): Promise<Response> {
  return auth.handler(
    new Request(`http://localhost:3100/api/auth${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-forwarded-for': ip,
        origin: 'http://localhost:3100',
      },
      body: JSON.stringify(body),
    }),
  );
}

describe('sign-in', () => {
  it(`the attempt after ${SIGN_IN_MAX} from one address in the window gets 429 with when to retry; another address does not`, async () => {
    const ip = freshIp();
    for (let i = 0; i < SIGN_IN_MAX; i++) {
      const response = await authRequest(
        '/sign-in/email',
        { email: `nobody-${randomUUID()}@example.com`, password: 'wrong-password-1' },
        ip,
      );
      expect(response.status).toBe(401);
    }
    const limited = await authRequest(
      '/sign-in/email',
      { email: `nobody-${randomUUID()}@example.com`, password: 'wrong-password-1' },
      ip,
    );
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('x-retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('x-retry-after'))).toBeLessThanOrEqual(60);
    expect(((await limited.json()) as { message: string }).message).toMatch(/too many requests/i);

    // Even the right password waits, from that address; from another, it signs in.
    const user = await h.createUser('limited');
    expect(
      (
        await authRequest(
          '/sign-in/email',
          { email: user.email, password: 'correct-horse-battery' },
          ip,
        )
      ).status,
    ).toBe(429);
    expect(
      (
        await authRequest(
          '/sign-in/email',
          { email: user.email, password: 'correct-horse-battery' },
          freshIp(),
        )
      ).status,
    ).toBe(200);
  });

  it(`the attempt after ${SIGN_IN_MAX} on one account, from any addresses, gets 429`, async () => {
    const user = await h.createUser('target');
    for (let i = 0; i < SIGN_IN_MAX; i++) {
      expect(
        (
          await authRequest(
            '/sign-in/email',
            { email: user.email, password: `guess-number-${i}` },
            freshIp(),
          )
        ).status,
      ).toBe(401);
    }
    const limited = await authRequest(
      '/sign-in/email',
      { email: user.email.toUpperCase(), password: 'correct-horse-battery' },
      freshIp(),
    );
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await limited.json()) as { message: string }).message).toMatch(
      /^Too many sign-in attempts for this account\. Try again in /,
    );
  });

  it('sign-up is limited per address too', async () => {
    const ip = freshIp();
    for (let i = 0; i < SIGN_IN_MAX; i++) {
      const response = await authRequest(
        '/sign-up/email',
        { name: 'New', email: `new-${randomUUID()}@example.com`, password: 'long-enough-password' },
        ip,
      );
      expect(response.status).toBe(200);
    }
    const limited = await authRequest(
      '/sign-up/email',
      { name: 'New', email: `new-${randomUUID()}@example.com`, password: 'long-enough-password' },
      ip,
    );
    expect(limited.status).toBe(429);
  });
});

/**
 * The address the per-address limit counts, over real HTTP: the console's real server (its
 * edge, then the real better-auth handler), clients connecting from loopback addresses of
 * their own, and a real proxy hop that appends its client's address to X-Forwarded-For.
 */
describe("sign-in over HTTP: the client's address", () => {
  const servers: TestConsoleServer[] = [];
  afterAll(async () => {
    for (const server of servers) await server.close();
  });
  async function serve(trustedProxies: string[]) {
    const server = await startConsoleServer(
      { '/api/auth': (request) => auth.handler(request) },
      { trustedProxies },
    );
    servers.push(server);
    return server;
  }
  function signIn(port: number, from: string, forwardedFor?: string) {
    return requestFrom(from, port, {
      method: 'POST',
      path: '/api/auth/sign-in/email',
      headers: {
        'content-type': 'application/json',
        origin: 'http://localhost:3100',
        ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
      },
      body: JSON.stringify({
        email: `nobody-${randomUUID()}@example.com`,
        password: 'wrong-password-1',
      }),
    });
  }

  it("with no trusted proxies it is the connection's: another X-Forwarded-For on each attempt does not reset the count", async () => {
    const { port } = await serve([]);
    const client = freshLoopbackAddress();
    for (let i = 0; i < SIGN_IN_MAX; i++)
      expect((await signIn(port, client, freshIp())).status).toBe(401);
    expect((await signIn(port, client, freshIp())).status).toBe(429);
    expect((await signIn(port, client)).status).toBe(429);
    // Another connection's address has its own count.
    expect((await signIn(port, freshLoopbackAddress(), freshIp())).status).toBe(401);
  });

  it('behind a trusted proxy it is the address the proxy saw, whatever the client claims; a direct client is not believed', async () => {
    const proxyAddress = freshLoopbackAddress();
    const consoleServer = await serve([`${proxyAddress}/32`]);
    const proxy = await startForwardingProxy(consoleServer, proxyAddress);
    servers.push(proxy);

    const client = freshLoopbackAddress();
    for (let i = 0; i < SIGN_IN_MAX; i++)
      expect((await signIn(proxy.port, client, freshIp())).status).toBe(401);
    expect((await signIn(proxy.port, client, freshIp())).status).toBe(429);
    // Another client of the same proxy is counted on its own (not as the proxy).
    expect((await signIn(proxy.port, freshLoopbackAddress(), freshIp())).status).toBe(401);
    // A client connecting directly is not a trusted proxy: the address it names is ignored,
    // it is counted as itself (naming the limited client would otherwise answer 429).
    expect((await signIn(consoleServer.port, freshLoopbackAddress(), client)).status).toBe(401);
  });
});

/**
 * invitation.get is public (an invitation link's page, before signing in): looks are counted
 * per client address with the sign-in limits, unknown and malformed tokens too.
 */
describe('invitation links', () => {
  it(`the look after ${SIGN_IN_MAX} from one address in the window gets 429 saying when to retry; another address does not`, async () => {
    const { owner, project } = await h.createProjectWithOwner('Limited invitation');
    const { link } = await h.callerFor(owner).invitation.create({
      projectId: project.id,
      email: `invitee-${randomUUID().slice(0, 8)}@example.com`,
      role: 'MEMBER',
    });
    const token = link!.slice(link!.lastIndexOf('/') + 1);
    registerSecret('the token of an invitation link', token);
    const look = (ip: string, input: { token: string } = { token }) =>
      callOverHttp(h, {
        path: 'invitation.get',
        type: 'query',
        input,
        headers: { 'x-forwarded-for': ip },
      });

    const ip = freshIp();
    expect((await look(ip)).status).toBe(200);
    expect((await look(ip, { token: 'x'.repeat(43) })).status).toBe(404);
    expect((await look(ip, { token: 'short' })).status).toBe(400);
    const limited = await look(ip);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(limited.body.error?.json.message).toMatch(
      /^Too many requests: try again in (\d+ seconds?|1 minute)$/,
    );
    expect(limited.body.error?.json.data).toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      appCode: 'RATE_LIMITED',
    });
    expect((await look(freshIp())).body.result?.data.json).toMatchObject({
      projectName: 'Limited invitation',
      state: 'pending',
    });
  });
});

describe('the API', () => {
  async function limitedCaller(
    userId: string | null,
    rule: { max: number; windowSeconds: number },
    getRedis?: () => Redis,
  ) {
    const { createCaller } = await import('~/server/api/root');
    const { createTRPCContext } = await import('~/server/api/trpc');
    const user = userId
      ? await h.prisma.user.findUniqueOrThrow({
          where: { id: userId },
          select: { id: true, email: true, name: true },
        })
      : null;
    return createCaller(() =>
      createTRPCContext(
        { headers: new Headers() },
        { db: h.prisma, getUser: async () => user, apiRateLimit: rule, getRedis },
      ),
    );
  }

  it('the call after N in the window gets TOO_MANY_REQUESTS saying when to retry; other users are not affected', async () => {
    const { owner, project } = await h.createProjectWithOwner();
    const caller = await limitedCaller(owner.id, { max: 3, windowSeconds: 60 });
    for (let i = 0; i < 3; i++)
      expect(await codeOf(caller.instance.list({ projectId: project.id }))).toBe('OK');
    await expect(caller.instance.list({ projectId: project.id })).rejects.toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      message: expect.stringMatching(/^Too many requests: try again in (\d+ seconds?|1 minute)$/),
    });
    // A limited mutation does nothing and is not recorded.
    const events = await h.prisma.auditEvent.count();
    expect(await codeOf(caller.project.create({ name: 'limited' }))).toBe('TOO_MANY_REQUESTS');
    expect(await h.prisma.auditEvent.count()).toBe(events);
    expect(await h.prisma.project.count({ where: { name: 'limited' } })).toBe(0);

    const other = await h.createUser('other');
    expect(
      await codeOf((await limitedCaller(other.id, { max: 3, windowSeconds: 60 })).viewer.me()),
    ).toBe('OK');
  });

  it('answers HTTP 429 with Retry-After, counting per token', async () => {
    const { owner, project } = await h.createProjectWithOwner();
    const first = await h
      .callerFor(owner)
      .apiToken.create({ projectId: project.id, name: 'a', scope: 'READ_ONLY', expiresInDays: 1 });
    const second = await h
      .callerFor(owner)
      .apiToken.create({ projectId: project.id, name: 'b', scope: 'READ_ONLY', expiresInDays: 1 });
    const rule = { max: 2, windowSeconds: 60 };
    const list = (token: string) =>
      callOverHttp(h, {
        path: 'instance.list',
        type: 'query',
        input: { projectId: project.id },
        headers: { authorization: `Bearer ${token}` },
        apiRateLimit: rule,
      });
    expect((await list(first.token)).status).toBe(200);
    expect((await list(first.token)).status).toBe(200);
    const limited = await list(first.token);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body.error?.json.data).toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      appCode: 'RATE_LIMITED',
      retryAfterSeconds: expect.any(Number),
    });
    expect(limited.body.error?.json.message).toMatch(/^Too many requests: try again in /);
    // Another token has its own budget.
    expect((await list(second.token)).status).toBe(200);
  });

  it('opens again when the window ends', async () => {
    const user = await h.createUser();
    const caller = await limitedCaller(user.id, { max: 1, windowSeconds: 1 });
    expect(await codeOf(caller.viewer.me())).toBe('OK');
    expect(await codeOf(caller.viewer.me())).toBe('TOO_MANY_REQUESTS');
    await expect
      .poll(() => codeOf(caller.viewer.me()), { timeout: 5_000, interval: 200 })
      .toBe('OK');
  });

  it('lets calls through when Redis cannot be reached (a limiter must not take the API down)', async () => {
    const unreachable = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    unreachable.on('error', () => undefined);
    try {
      const user = await h.createUser();
      const caller = await limitedCaller(user.id, { max: 1, windowSeconds: 60 }, () => unreachable);
      for (let i = 0; i < 3; i++) expect(await codeOf(caller.viewer.me())).toBe('OK');
    } finally {
      unreachable.disconnect();
    }
  });

  it('is off with a maximum of 0', async () => {
    const user = await h.createUser();
    const caller = await limitedCaller(user.id, { max: 0, windowSeconds: 60 });
    for (let i = 0; i < 5; i++) expect(await codeOf(caller.viewer.me())).toBe('OK');
  });
});
