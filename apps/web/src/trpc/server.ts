import 'server-only';

import { dehydrate, HydrationBoundary } from '@tanstack/react-query';
import { createTRPCOptionsProxy, type TRPCQueryOptions } from '@trpc/tanstack-react-query';
import { headers } from 'next/headers';
import { cache, createElement } from 'react';

import { appRouter, createCaller, type AppRouter } from '~/server/api/root';
import { createTRPCContext } from '~/server/api/trpc';
import { createQueryClient } from './query-client';

/**
 * The tRPC context for a React Server Component render, built once per request from the
 * incoming headers (so the session cookie comes along).
 */
const createContext = cache(async () => {
  const heads = new Headers(await headers());
  heads.set('x-trpc-source', 'rsc');
  return createTRPCContext({ headers: heads });
});

const getQueryClient = cache(createQueryClient);

/** Query options for server prefetching; the data is handed to client components. */
export const trpc = createTRPCOptionsProxy<AppRouter>({
  router: appRouter,
  ctx: createContext,
  queryClient: getQueryClient,
});

/** Calls procedures directly from server components (for data the server itself needs). */
export const api = createCaller(createContext);

/** The prefetches started in this request (each settles, never rejects). */
const getPrefetches = cache((): Promise<void>[] => []);

/**
 * Passes everything prefetched in this request to the client components below it, once it has
 * arrived. Waiting matters: a query handed over still pending could arrive in the browser
 * before it hydrates but after the server rendered its HTML, so the browser's first render
 * would show the data where the HTML shows "Loading…" (React's hydration error #418, and a
 * render thrown away). Queries that failed are left out (the browser asks again).
 */
export async function HydrateClient(props: { children: React.ReactNode }) {
  const queryClient = getQueryClient();
  await Promise.all(getPrefetches());
  return createElement(HydrationBoundary, { state: dehydrate(queryClient) }, props.children);
}

/** Starts a query on the server; `HydrateClient` waits for it and hands its result to the client. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function prefetch<T extends ReturnType<TRPCQueryOptions<any>>>(queryOptions: T): void {
  const queryClient = getQueryClient();
  getPrefetches().push(
    queryOptions.queryKey[1]?.type === 'infinite'
      ? // eslint-disable-next-line @typescript-eslint/no-explicit-any
        queryClient.prefetchInfiniteQuery(queryOptions as any)
      : queryClient.prefetchQuery(queryOptions),
  );
}
