import 'server-only';

import { type PrismaClient } from '@coffer/db';
import { z } from 'zod';

import { type ProjectScopedDb } from '~/server/tenancy';

import { metricPointSchema, toMetricPoint, type MetricPoint } from './metric-point';

/**
 * The figures of a project's instance list (issue 16): each live instance's newest sample and
 * a sparkline of its CPU and connections over the last hour, one point a minute (averages of
 * the raw samples, so the minute under way is there too). Operators' busiest instances across
 * every project, by their newest CPU.
 */

export const sparkPointSchema = z.object({
  at: z.string(),
  cpuPercent: z.number().nullable(),
  connections: z.number().nullable(),
});

export const projectMetricsSchema = z.array(
  z.object({
    instanceId: z.string(),
    latest: metricPointSchema.nullable(),
    spark: z.array(sparkPointSchema),
  }),
);
export type ProjectMetrics = z.infer<typeof projectMetricsSchema>;

type Row = Record<string, unknown> & { at: Date; instanceId: string };

/** The newest raw sample of each instance named (no older than `since`). */
export async function latestSamples(
  db: PrismaClient | ProjectScopedDb,
  instanceIds: string[],
  since: Date,
): Promise<Map<string, { point: MetricPoint; maxConnections: number | null }>> {
  if (instanceIds.length === 0) return new Map();
  const rows = await db.$queryRawUnsafe<Row[]>(
    `SELECT DISTINCT ON ("instanceId") * FROM "instance_metrics"
     WHERE "instanceId" = ANY($1::uuid[]) AND "at" >= $2 ORDER BY "instanceId", "at" DESC`,
    instanceIds,
    since,
  );
  return new Map(
    rows.map((row) => [
      row.instanceId,
      {
        point: toMetricPoint(row),
        maxConnections: row.maxConnections === null ? null : Number(row.maxConnections),
      },
    ]),
  );
}

export async function readProjectMetrics(
  db: ProjectScopedDb,
  now = new Date(),
): Promise<ProjectMetrics> {
  const instances = await db.instance.findMany({
    where: { deletedAt: null },
    select: { id: true },
    orderBy: { createdAt: 'asc' },
  });
  const ids = instances.map((instance) => instance.id);
  const hourAgo = new Date(now.getTime() - 3600_000);
  const latest = await latestSamples(db, ids, new Date(now.getTime() - 24 * 3600_000));
  const sparkRows =
    ids.length === 0
      ? []
      : await db.$queryRawUnsafe<
          { instanceId: string; at: Date; cpuPercent: number | null; connections: number | null }[]
        >(
          `SELECT "instanceId", date_trunc('minute', "at") AS "at",
                  AVG("cpuPercent")::float8 AS "cpuPercent", AVG("connections")::float8 AS "connections"
           FROM "instance_metrics" WHERE "instanceId" = ANY($1::uuid[]) AND "at" >= $2
           GROUP BY 1, 2 ORDER BY 1, 2`,
          ids,
          hourAgo,
        );
  const sparks = new Map<string, z.infer<typeof sparkPointSchema>[]>();
  for (const row of sparkRows) {
    const spark = sparks.get(row.instanceId) ?? [];
    spark.push({
      at: row.at.toISOString(),
      cpuPercent: row.cpuPercent,
      connections: row.connections,
    });
    sparks.set(row.instanceId, spark);
  }
  return ids.map((instanceId) => ({
    instanceId,
    latest: latest.get(instanceId)?.point ?? null,
    spark: sparks.get(instanceId) ?? [],
  }));
}

export const busiestInput = z.object({ limit: z.number().int().min(1).max(100).default(10) });
export const busiestSchema = z.array(
  z.object({
    instanceId: z.string(),
    instanceName: z.string(),
    projectId: z.string(),
    projectName: z.string(),
    latest: metricPointSchema,
  }),
);

/** Operators only (the router's adminProcedure): live instances of every project, busiest CPU first. */
export async function readBusiestInstances(
  db: PrismaClient,
  limit: number,
  now = new Date(),
): Promise<z.infer<typeof busiestSchema>> {
  // Only samples of the last 10 minutes: an instance silent since says nothing of now.
  const rows = await db.$queryRawUnsafe<Row[]>(
    `SELECT * FROM (
       SELECT DISTINCT ON (m."instanceId") m.*, i."name" AS "instanceName", p."id" AS "projectId", p."name" AS "projectName"
       FROM "instance_metrics" m
       JOIN "instances" i ON i."id" = m."instanceId" AND i."deletedAt" IS NULL
       JOIN "projects" p ON p."id" = i."projectId"
       WHERE m."at" >= $1
       ORDER BY m."instanceId", m."at" DESC
     ) newest
     ORDER BY "cpuPercent" DESC NULLS LAST, "at" DESC LIMIT $2`,
    new Date(now.getTime() - 10 * 60_000),
    limit,
  );
  return rows.map((row) => ({
    instanceId: row.instanceId,
    instanceName: String(row.instanceName),
    projectId: String(row.projectId),
    projectName: String(row.projectName),
    latest: toMetricPoint(row),
  }));
}
