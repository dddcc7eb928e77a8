import { toNextJsHandler } from 'better-auth/next-js';

import { env } from '~/env';
import { auth } from '~/server/auth';
import { withBodyLimit } from '~/server/http/body-limit';

const handlers = toNextJsHandler(auth);

export const GET = handlers.GET;
export const POST = withBodyLimit(handlers.POST, env.COFFER_MAX_BODY_BYTES);
