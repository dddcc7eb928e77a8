import 'server-only';

import { createPrismaClient, type PrismaClient } from '@coffer/db';

import { env } from '~/env';

const globalForDb = globalThis as unknown as { cofferPrisma?: PrismaClient };

/** One Prisma client per server process (kept across hot reloads in development). */
export const db: PrismaClient =
  globalForDb.cofferPrisma ?? createPrismaClient({ url: env.DATABASE_URL });
if (env.NODE_ENV !== 'production') globalForDb.cofferPrisma = db;
