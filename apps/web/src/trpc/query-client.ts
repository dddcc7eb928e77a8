import { defaultShouldDehydrateQuery, QueryClient } from '@tanstack/react-query';
import SuperJSON from 'superjson';

/**
 * One QueryClient factory for the server (per request) and the browser (one per tab).
 * Only queries that succeeded are handed to the browser: `HydrateClient` waits for the server's
 * prefetches first, so the server's HTML and the browser's first render show the same data.
 */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // With SSR, keep data fresh for a moment so the client does not refetch at once.
        staleTime: 30 * 1000,
      },
      dehydrate: {
        serializeData: SuperJSON.serialize,
        shouldDehydrateQuery: defaultShouldDehydrateQuery,
        shouldRedactErrors: () => false,
      },
      hydrate: {
        deserializeData: SuperJSON.deserialize,
      },
    },
  });
}
