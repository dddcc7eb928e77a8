import { PrismaPg } from '@prisma/adapter-pg';

import { type Prisma, PrismaClient } from './generated/prisma/client';

// The generated client: PrismaClient, the Prisma namespace, model types and enums.
export * from './generated/prisma/client';

export interface CreatePrismaClientOptions {
  /** A postgresql:// URL (DATABASE_URL, parsed by the caller's env.ts). */
  url: string;
  /** Prisma's log levels to emit, e.g. ['warn', 'error']. Default: none. */
  log?: Prisma.LogLevel[];
  /** Most connections the pool opens. Default 10. */
  maxConnections?: number;
  /** Shown in pg_stat_activity. Default "coffer". */
  applicationName?: string;
}

/**
 * A Prisma client over node-postgres (@prisma/adapter-pg): no native engine. One per
 * process; `$disconnect()` closes its pool.
 */
export function createPrismaClient({
  url,
  log,
  maxConnections = 10,
  applicationName = 'coffer',
}: CreatePrismaClientOptions): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: url,
    max: maxConnections,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    application_name: applicationName,
  });
  return new PrismaClient({ adapter, log }) as PrismaClient;
}

/** A client, or the client of an interactive transaction: what the factories accept. */
export type DbClient = PrismaClient | Prisma.TransactionClient;

/**
 * Locks a project's row for the rest of the transaction `tx`: the project's quota checks,
 * backup and restore creates and backup deletes take turns on it, whichever process runs
 * them (FOR NO KEY UPDATE: inserts elsewhere that merely reference the project do not wait).
 * False when there is no such project.
 */
export async function lockProject(
  tx: Pick<PrismaClient, '$queryRaw'>,
  projectId: string,
): Promise<boolean> {
  const rows = await tx.$queryRaw<
    { id: string }[]
  >`SELECT id FROM projects WHERE id = ${projectId}::uuid FOR NO KEY UPDATE`;
  return rows.length > 0;
}
