import 'server-only';

import { adminRouter } from './routers/admin';
import { catalogRouter } from './routers/catalog';
import { instanceRouter } from './routers/instance';
import { projectRouter } from './routers/project';
import { viewerRouter } from './routers/viewer';
import { createCallerFactory, createTRPCRouter } from './trpc';

export const appRouter = createTRPCRouter({
  viewer: viewerRouter,
  project: projectRouter,
  catalog: catalogRouter,
  instance: instanceRouter,
  admin: adminRouter,
});

export type AppRouter = typeof appRouter;

/** Calls procedures directly (server components, tests). */
export const createCaller = createCallerFactory(appRouter);
