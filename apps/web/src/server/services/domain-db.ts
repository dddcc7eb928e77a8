import 'server-only';

import { type PrismaClient } from '@coffer/db';
import { type EnqueueTaskmanagerJob } from '@coffer/db/domain/jobs';

import { env } from '~/env';
import { enqueueTaskmanagerJob } from '~/server/queue';
import { type ProjectScopedDb } from '~/server/tenancy';

/**
 * What the domain functions of `@coffer/db/domain` take from the web app. They are typed
 * against the plain client (the worker has no other); the project-scoped client is the same
 * client at run time with `projectId` added to every tenant query, so a resolver's tenancy
 * still holds inside them (they filter by the project themselves too). Prisma's extended
 * client types are not assignable to the plain ones, hence the one cast here.
 */
export function domainDb(db: ProjectScopedDb): PrismaClient {
  return db as unknown as PrismaClient;
}

export const enqueueJob: EnqueueTaskmanagerJob = enqueueTaskmanagerJob;

export function heartbeatExpirySeconds(): number {
  return env.COFFER_HEARTBEAT_EXPIRY_SECONDS;
}
