import 'server-only';

import { createCaller } from './root';
import { createTRPCContext, type ContextDeps } from './trpc';

/**
 * The API for code outside the web app, as the package entry `@coffer/web/api`: the router's
 * type (a typed client, as examples/ makes) and a caller that runs the procedures in-process
 * (bench/), so nothing reaches into `apps/web/src`. Importing it loads the web app's settings
 * (`env.ts`) and its server code: import it dynamically, once the environment is set.
 */
export { type AppRouter } from './root';
export { type ContextDeps, type SessionUser } from './trpc';

/**
 * Calls the procedures directly, as the user `deps.getUser` resolves, with the database
 * client given: the same context, tenancy, audit and rate limits as a request over HTTP.
 */
export function createServerCaller(deps: ContextDeps, headers: Headers = new Headers()) {
  return createCaller(() => createTRPCContext({ headers }, deps));
}
