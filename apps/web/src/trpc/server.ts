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

/** Passes everything prefetched in this request to the client components below it. */
export function HydrateClient(props: { children: React.ReactNode }) {
  const queryClient = getQueryClient();
  return createElement(HydrationBoundary, { state: dehydrate(queryClient) }, props.children);
}

/** Starts a query on the server without awaiting it; the client picks up the result. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function prefetch<T extends ReturnType<TRPCQueryOptions<any>>>(queryOptions: T): void {
  const queryClient = getQueryClient();
  if (queryOptions.queryKey[1]?.type === 'infinite') {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    void queryClient.prefetchInfiniteQuery(queryOptions as any);
  } else {
    void queryClient.prefetchQuery(queryOptions);
  }
}
