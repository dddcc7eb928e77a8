import { TRPCError } from '@trpc/server';
import type { Logger } from 'pino';

import type { SessionUser } from '~/server/api/trpc';
import type { Harness } from './harness';

/** The tRPC code a call ends with ('OK' when it succeeds). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) return error.code;
    throw error;
  }
  return 'OK';
}

/** A caller acting with an API token, as a script does (`Authorization: Bearer …`). */
export async function callerWithToken(h: Harness, token: string) {
  const { createCaller } = await import('~/server/api/root');
  const { createTRPCContext } = await import('~/server/api/trpc');
  return createCaller(() =>
    createTRPCContext(
      { headers: new Headers({ authorization: `Bearer ${token}` }) },
      { db: h.prisma, getUser: async () => null },
    ),
  );
}

/**
 * One call through the real HTTP handler (fetchRequestHandler), as a script's HTTP client
 * makes it: a GET for a query, a POST for a mutation, superjson-encoded input.
 */
export async function callOverHttp(
  h: Harness,
  options: {
    path: string;
    type: 'query' | 'mutation';
    input: unknown;
    headers?: Record<string, string>;
    apiRateLimit?: { max: number; windowSeconds: number };
    /** The signed-in user (as a session cookie would make it); none by default. */
    user?: SessionUser;
    /** Another database client (one that fails, say) or logger than the harness's. */
    db?: Harness['prisma'];
    logger?: Logger;
  },
): Promise<{
  status: number;
  headers: Headers;
  body: {
    result?: { data: { json: unknown } };
    error?: { json: { message: string; code: number; data: Record<string, unknown> } };
  };
}> {
  const { fetchRequestHandler } = await import('@trpc/server/adapters/fetch');
  const { default: SuperJSON } = await import('superjson');
  const { appRouter } = await import('~/server/api/root');
  const { createTRPCContext, retryAfterHeaders } = await import('~/server/api/trpc');
  const encoded = JSON.stringify(SuperJSON.serialize(options.input));
  const url =
    options.type === 'query'
      ? `http://localhost/api/trpc/${options.path}?input=${encodeURIComponent(encoded)}`
      : `http://localhost/api/trpc/${options.path}`;
  const request = new Request(url, {
    method: options.type === 'query' ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: options.type === 'mutation' ? encoded : undefined,
  });
  const response = await fetchRequestHandler({
    endpoint: '/api/trpc',
    req: request,
    router: appRouter,
    createContext: () =>
      createTRPCContext(
        { headers: request.headers },
        {
          db: options.db ?? h.prisma,
          getUser: async () => options.user ?? null,
          apiRateLimit: options.apiRateLimit,
          logger: options.logger,
        },
      ),
    responseMeta: ({ errors }) => ({ headers: retryAfterHeaders(errors) }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as never,
  };
}
