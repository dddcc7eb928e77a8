'use client';

import { type QueryClient, QueryClientProvider } from '@tanstack/react-query';
import {
  createTRPCClient,
  httpBatchStreamLink,
  httpSubscriptionLink,
  loggerLink,
  splitLink,
} from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { useState } from 'react';
import SuperJSON from 'superjson';

import type { AppRouter } from '~/server/api/root';
import { createQueryClient } from './query-client';

let browserQueryClient: QueryClient | undefined;

function getQueryClient(): QueryClient {
  if (typeof window === 'undefined') {
    // On the server (client components' SSR pass) every request gets a fresh client.
    return createQueryClient();
  }
  // In the browser, one client for the life of the tab, so Suspense does not recreate it.
  browserQueryClient ??= createQueryClient();
  return browserQueryClient;
}

export const { useTRPC, TRPCProvider } = createTRPCContext<AppRouter>();

/** Calls whose input or answer holds a database password: the logger (which prints both) leaves them out. */
const SECRET_ANSWERS = new Set(['rootAccess.enable']);
function carriesSecret(op: { path?: string; input?: unknown }): boolean {
  if (op.path && SECRET_ANSWERS.has(op.path)) return true;
  const input = op.input;
  return (
    typeof input === 'object' &&
    input !== null &&
    ['password', 'newPassword', 'users'].some((key) => key in input)
  );
}

export function TRPCReactProvider({ children }: { children: React.ReactNode }) {
  const queryClient = getQueryClient();
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        // In development only: a production console prints nothing of its calls (failures are
        // shown on the page).
        loggerLink({
          enabled: (op) =>
            // eslint-disable-next-line no-restricted-properties -- inlined by Next at build time
            process.env.NODE_ENV === 'development' &&
            // Both directions carry the operation at run time (the 'down' type omits it).
            !carriesSecret(op as { path?: string; input?: unknown }),
        }),
        splitLink({
          // Live status arrives over SSE (subscriptions); everything else is batched HTTP.
          condition: (op) => op.type === 'subscription',
          true: httpSubscriptionLink({ transformer: SuperJSON, url: `${getBaseUrl()}/api/trpc` }),
          false: httpBatchStreamLink({
            transformer: SuperJSON,
            url: `${getBaseUrl()}/api/trpc`,
            headers() {
              const headers = new Headers();
              headers.set('x-trpc-source', 'nextjs-react');
              return headers;
            },
          }),
        }),
      ],
    }),
  );

  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}

function getBaseUrl(): string {
  if (typeof window !== 'undefined') return window.location.origin;
  // Client components rendered on the server never fetch (data comes from the server
  // prefetch), but the link still needs an absolute URL.
  return 'http://localhost:3000';
}
