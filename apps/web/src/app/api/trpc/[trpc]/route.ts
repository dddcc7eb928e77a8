import { fetchRequestHandler } from '@trpc/server/adapters/fetch';

import { env } from '~/env';
import { appRouter } from '~/server/api/root';
import { createTRPCContext, retryAfterHeaders } from '~/server/api/trpc';
import { refuseCrossOrigin } from '~/server/csrf';
import { withBodyLimit } from '~/server/http/body-limit';

const handler = withBodyLimit(
  (req: Request) =>
    fetchRequestHandler({
      endpoint: '/api/trpc',
      req,
      router: appRouter,
      createContext: () => createTRPCContext({ headers: req.headers }),
      responseMeta: ({ errors }) => ({ headers: retryAfterHeaders(errors) }),
    }),
  env.COFFER_MAX_BODY_BYTES,
);

export const GET = handler;
// Mutations come only from the console's own pages (or from scripts with a token): no CSRF.
export const POST = refuseCrossOrigin(handler);
