/**
 * Measures what metrics cost in PostgreSQL (docs/monitoring.md): writes one simulated day of
 * samples for `INSTANCES` instances at the heartbeat interval into an empty database that has
 * the migrations, rolls them up as the watchdog would, and prints the tables' sizes
 * (pg_total_relation_size: rows, indexes, TOAST) per instance, per day and at steady state.
 *
 *   DATABASE_URL=…/scratch node --import tsx apps/worker/scripts/measure-metrics-storage.ts
 */
import { randomUUID } from 'node:crypto';

import { DEFAULT_HEARTBEAT_INTERVAL_SECONDS } from '@coffer/contracts';
import { createPrismaClient } from '@coffer/db';

import { RETENTION, rollupMetrics } from '../src/metrics/rollup';

const INSTANCES = Number(process.env.INSTANCES ?? 10);
const INTERVAL_S = Number(process.env.INTERVAL_SECONDS ?? DEFAULT_HEARTBEAT_INTERVAL_SECONDS);
const DAY_S = 24 * 3600;

const prisma = createPrismaClient({ url: process.env.DATABASE_URL! });
try {
  const start = new Date('2026-01-01T00:00:00Z').getTime();
  const ids = Array.from({ length: INSTANCES }, () => randomUUID());
  // Random figures of the sizes real ones have (a few nulls: no lag on a source).
  await prisma.$executeRawUnsafe(
    `INSERT INTO "instance_metrics"
     SELECT id, $2::timestamptz + make_interval(secs => s * $3 + random()), random() * 100,
            (4e8 + random() * 1e8)::bigint, random() * 3, (8e7 + random() * 1e7)::bigint,
            (random() * 50)::int, 60, 0, random() * 500, 0, 0.99 + random() / 100,
            (random() * 1000)::int, random() * 5000, random() * 200, NULL,
            (2e9 + s * 1000)::bigint, 10e9::bigint, (1e8 + s * 100)::bigint, 151
     FROM unnest($1::uuid[]) AS id, generate_series(0, $4 - 1) AS s`,
    ids,
    new Date(start),
    INTERVAL_S,
    Math.floor(DAY_S / INTERVAL_S),
  );
  await rollupMetrics(prisma, new Date(start + DAY_S * 1000 - 1), new Date(start));
  await prisma.$executeRawUnsafe(
    'VACUUM ANALYZE instance_metrics, instance_metrics_1m, instance_metrics_1h',
  );
  const sizes = await prisma.$queryRawUnsafe<{ table: string; bytes: bigint; rows: bigint }[]>(
    `SELECT t AS "table", pg_total_relation_size(t::regclass) AS bytes,
            (xpath('/row/c/text()', query_to_xml('SELECT count(*) AS c FROM ' || t, false, true, '')))[1]::text::bigint AS rows
     FROM unnest(ARRAY['instance_metrics', 'instance_metrics_1m', 'instance_metrics_1h']) AS t`,
  );
  const perInstanceDay = Object.fromEntries(
    sizes.map(({ table, bytes, rows }) => [
      table,
      {
        bytesPerInstancePerDay: Math.round(Number(bytes) / INSTANCES),
        bytesPerRow: Math.round(Number(bytes) / Number(rows)),
      },
    ]),
  );
  const perDay = (table: string) => perInstanceDay[table]!.bytesPerInstancePerDay;
  const steady =
    perDay('instance_metrics') * (RETENTION.rawMs / 86_400_000) +
    perDay('instance_metrics_1m') * (RETENTION.minuteMs / 86_400_000) +
    perDay('instance_metrics_1h') * (RETENTION.hourMs / 86_400_000);
  console.log(
    JSON.stringify({
      instances: INSTANCES,
      intervalSeconds: INTERVAL_S,
      perInstanceDay,
      writtenPerInstancePerDayBytes:
        perDay('instance_metrics') + perDay('instance_metrics_1m') + perDay('instance_metrics_1h'),
      steadyStatePerInstanceBytes: Math.round(steady),
    }),
  );
} finally {
  await prisma.$disconnect();
}
