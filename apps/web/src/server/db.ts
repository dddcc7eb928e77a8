import 'server-only';

import { createPrismaClient, type PrismaClient } from '@coffer/db';

import { env } from '~/env';

const globalForDb = globalThis as unknown as { cofferPrisma?: PrismaClient };

/**
 * One Prisma client per server process (kept across hot reloads in development). Its
 * connections are named coffer-web: the database's timeline triggers record the changes they
 * write as the console's (migration instance_timeline).
 */
export const db: PrismaClient =
  globalForDb.cofferPrisma ??
  createPrismaClient({ url: env.DATABASE_URL, applicationName: 'coffer-web' });
if (env.NODE_ENV !== 'production') globalForDb.cofferPrisma = db;
