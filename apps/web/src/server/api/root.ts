import 'server-only';

import { adminRouter } from './routers/admin';
import { apiTokenRouter } from './routers/api-token';
import { auditRouter } from './routers/audit';
import { backupRouter } from './routers/backup';
import { catalogRouter } from './routers/catalog';
import { configurationRouter } from './routers/configuration';
import { databaseRouter } from './routers/database';
import { databaseUserRouter } from './routers/database-user';
import { instanceRouter } from './routers/instance';
import { instanceEventRouter } from './routers/instance-event';
import { instanceLogRouter } from './routers/instance-log';
import { invitationRouter } from './routers/invitation';
import { liveRouter } from './routers/live';
import { alertsRouter, metricsRouter } from './routers/metrics';
import { projectRouter } from './routers/project';
import { quotaRouter } from './routers/quota';
import { replicaRouter } from './routers/replica';
import { rootAccessRouter } from './routers/root-access';
import { timelineRouter } from './routers/timeline';
import { viewerRouter } from './routers/viewer';
import { createCallerFactory, createTRPCRouter } from './trpc';

export const appRouter = createTRPCRouter({
  viewer: viewerRouter,
  project: projectRouter,
  invitation: invitationRouter,
  catalog: catalogRouter,
  instance: instanceRouter,
  instanceEvent: instanceEventRouter,
  log: instanceLogRouter,
  backup: backupRouter,
  configuration: configurationRouter,
  replica: replicaRouter,
  database: databaseRouter,
  databaseUser: databaseUserRouter,
  rootAccess: rootAccessRouter,
  admin: adminRouter,
  apiToken: apiTokenRouter,
  audit: auditRouter,
  quota: quotaRouter,
  live: liveRouter,
  timeline: timelineRouter,
  metrics: metricsRouter,
  alerts: alertsRouter,
});

export type AppRouter = typeof appRouter;

/** Calls procedures directly (server components, tests). */
export const createCaller = createCallerFactory(appRouter);
