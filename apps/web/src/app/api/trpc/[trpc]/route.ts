import { fetchRequestHandler } from '@trpc/server/adapters/fetch';

import { appRouter } from '~/server/api/root';
import { createTRPCContext, retryAfterHeaders } from '~/server/api/trpc';

const handler = (req: Request) =>
  fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    createContext: () => createTRPCContext({ headers: req.headers }),
    responseMeta: ({ errors }) => ({ headers: retryAfterHeaders(errors) }),
  });

export { handler as GET, handler as POST };
