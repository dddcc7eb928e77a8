import { randomUUID } from 'node:crypto';

import { waitFor } from '@coffer/testing/wait';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { WorkerTestContext, type CreatedInstance } from '../../test/harness';
import { asRoot } from '../../test/replication';
import { pruneMetrics, rollupMetrics } from './rollup';

/**
 * Issue 16, part 1: a real instance's metrics (guest sampler → signed message → conductor →
 * PostgreSQL) under a known load agree with the server's own counters, and the watchdog's
 * rollups are the aggregates of the raw samples they cover; retention prunes what is past it.
 */

const ctx = new WorkerTestContext({ name: 'metrics' });
let instance: CreatedInstance;

beforeAll(async () => {
  await ctx.setUp();
  // No watchdog: this file runs the metrics sweep itself.
  await ctx.startWorker({ roles: ['taskmanager', 'conductor'] });
  instance = await ctx.createInstance();
  await ctx.waitForActive(instance.instanceId, { timeoutMs: 120_000 });
}, 180_000);

afterAll(async () => {
  await ctx.closeLeavingNothing();
}, 180_000);

async function connect(): Promise<mysql.Connection> {
  const row = (await ctx.row(instance.instanceId))!;
  return mysql.createConnection({
    host: row.host!,
    port: row.port!,
    user: instance.userName,
    password: instance.password,
    database: instance.databaseName,
  });
}

/** The server's own counters, read as root over its socket (the tenant may not see InnoDB's). */
async function counters(): Promise<Map<string, number>> {
  return asRoot(ctx, instance.instanceId, async (connection) => {
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Handler_write', 'Handler_update', 'Handler_delete')",
    );
    return new Map(rows.map((row) => [String(row.Variable_name), Number(row.Value)]));
  });
}

const written = (values: Map<string, number>) =>
  values.get('Handler_write')! + values.get('Handler_update')! + values.get('Handler_delete')!;

describe('metrics of a real instance', () => {
  it("under ~200 inserts/s for 10 s are within 10 % of the server's own counters, and the minute rollups aggregate the raw samples", async () => {
    const { instanceId } = instance;
    // The sampler needs a sample to make rates from: wait for a rate.
    await waitFor(
      async () =>
        (await ctx.prisma.instanceMetric.count({
          where: { instanceId, queriesPerSec: { not: null } },
        })) > 0,
      { timeoutMs: 30_000, what: 'a first sample with rates' },
    );
    const latest = await ctx.prisma.instanceMetric.findFirstOrThrow({
      where: { instanceId },
      orderBy: { at: 'desc' },
    });
    expect(latest.cpuPercent).not.toBeNull();
    expect(Number(latest.memoryBytes)).toBeGreaterThan(10 * 1024 ** 2);
    expect(Number(latest.guestMemoryBytes)).toBeGreaterThan(10 * 1024 ** 2);
    expect(latest.connections).toBeGreaterThanOrEqual(1);
    expect(latest.maxConnections).toBeGreaterThan(0);
    expect(Number(latest.volumeTotalBytes)).toBeGreaterThan(0);
    expect(latest.bufferPoolHitRatio === null || latest.bufferPoolHitRatio <= 1).toBe(true);

    // Four connections share the load, so a busy machine (a commit costs a log flush) still
    // keeps the pace the single connection of a quiet one would.
    const connections = await Promise.all([connect(), connect(), connect(), connect()]);
    const connection = connections[0]!;
    try {
      await connection.query('CREATE TABLE load_test (id INT AUTO_INCREMENT PRIMARY KEY, v INT)');
      const before = await counters();
      const startedAt = Date.now();
      // ~200 inserts a second, paced by the clock (a slow round catches up, never runs ahead).
      const durationMs = 10_000;
      let sent = 0;
      await Promise.all(
        connections.map(async (each) => {
          while (Date.now() - startedAt < durationMs) {
            while (sent < Math.floor(((Date.now() - startedAt) / 1000) * 200)) {
              const value = sent++;
              await each.query('INSERT INTO load_test (v) VALUES (?)', [value]);
            }
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }),
      );
      const endedAt = Date.now();
      const after = await counters();
      const readAfterAt = Date.now();
      const seconds = (endedAt - startedAt) / 1000;
      const serverWritten = (written(after) - written(before)) / seconds;
      const serverQueries = (after.get('Questions')! - before.get('Questions')!) / seconds;
      // A real load (a quiet machine keeps 200/s; a busy one far over 50/s), all of it counted.
      expect(sent / seconds).toBeGreaterThan(50);
      expect(written(after) - written(before)).toBeGreaterThanOrEqual(sent);

      // The samples from the last one before the first counter read to the first one after the
      // last: their rates times their intervals add up to what the server counted in between
      // (the instance is idle outside the load, but for a few statements of the guest's own).
      await waitFor(
        async () =>
          (await ctx.prisma.instanceMetric.count({
            where: { instanceId, at: { gt: new Date(readAfterAt) } },
          })) > 0,
        { timeoutMs: 10_000, what: 'a sample after the load' },
      );
      const samples = await ctx.prisma.instanceMetric.findMany({
        where: { instanceId },
        orderBy: { at: 'asc' },
      });
      const first = samples.findLastIndex((sample) => sample.at.getTime() < startedAt - 1);
      const last = samples.findIndex((sample) => sample.at.getTime() > readAfterAt);
      expect(first).toBeGreaterThanOrEqual(0);
      const covering = samples.slice(first + 1, last + 1);
      expect(covering.length).toBeGreaterThanOrEqual(8);
      const total = (rate: (sample: (typeof samples)[number]) => number | null) =>
        covering.reduce((sum, sample, index) => {
          const previous = index === 0 ? samples[first]! : covering[index - 1]!;
          expect(rate(sample)).not.toBeNull();
          return sum + (rate(sample)! * (sample.at.getTime() - previous.at.getTime())) / 1000;
        }, 0);
      const storedWritten = total((sample) => sample.rowsWrittenPerSec) / seconds;
      const storedQueries = total((sample) => sample.queriesPerSec) / seconds;
      console.log(
        JSON.stringify({
          serverWritten,
          storedWritten,
          serverQueries,
          storedQueries,
          samples: covering.length,
        }),
      );
      expect(Math.abs(storedWritten - serverWritten) / serverWritten).toBeLessThan(0.1);
      expect(Math.abs(storedQueries - serverQueries) / serverQueries).toBeLessThan(0.1);
    } finally {
      await Promise.all(connections.map((each) => each.end()));
    }

    // The minute rollups of this instance: each the aggregate of its raw samples, read in the
    // rollup's own snapshot (samples keep arriving every second).
    const { raw, minutes } = await ctx.prisma.$transaction(
      async (tx) => {
        await rollupMetrics(tx, new Date(), new Date(Date.now() - 10 * 60_000));
        return {
          raw: await tx.instanceMetric.findMany({ where: { instanceId } }),
          minutes: await tx.instanceMetricMinute.findMany({ where: { instanceId } }),
        };
      },
      { isolationLevel: 'RepeatableRead' },
    );
    expect(minutes.length).toBeGreaterThan(0);
    for (const minute of minutes) {
      const start = minute.bucket.getTime();
      const samples = raw.filter(
        (sample) => sample.at.getTime() >= start && sample.at.getTime() < start + 60_000,
      );
      expect(minute.samples).toBe(samples.length);
      const written = samples.flatMap((sample) => sample.rowsWrittenPerSec ?? []);
      if (written.length === 0) expect(minute.rowsWrittenPerSec).toBeNull();
      else
        expect(minute.rowsWrittenPerSec).toBeCloseTo(
          written.reduce((sum, value) => sum + value, 0) / written.length,
          1,
        );
      const cpu = samples.flatMap((sample) => sample.cpuPercent ?? []);
      expect(minute.cpuPercentMax).toBe(cpu.length === 0 ? null : Math.max(...cpu));
    }
  });
});

describe('rollups and retention', () => {
  it('make each minute and hour the aggregate of its samples (averages weighted by samples, maxima, nulls left out), and prune past retention', async () => {
    const instanceId = randomUUID();
    const hour = new Date('2026-01-01T10:00:00.000Z').getTime();
    // Minute 0: three samples; minute 1: one sample (a weighted hour average differs from the mean of minute averages).
    const samples = [
      { at: hour + 5_000, cpuPercent: 10, connections: 2, memoryBytes: 100n, queriesPerSec: 1 },
      { at: hour + 25_000, cpuPercent: 20, connections: 4, memoryBytes: 200n, queriesPerSec: null },
      { at: hour + 45_000, cpuPercent: 60, connections: 6, memoryBytes: 301n, queriesPerSec: 3 },
      { at: hour + 65_000, cpuPercent: 50, connections: 8, memoryBytes: 400n, queriesPerSec: 8 },
    ];
    await ctx.prisma.instanceMetric.createMany({
      data: samples.map((sample) => ({ instanceId, ...sample, at: new Date(sample.at) })),
    });
    await rollupMetrics(ctx.prisma, new Date(hour + 70_000), new Date(hour));
    const minutes = await ctx.prisma.instanceMetricMinute.findMany({
      where: { instanceId },
      orderBy: { bucket: 'asc' },
    });
    expect(minutes).toHaveLength(2);
    expect(minutes[0]).toMatchObject({
      bucket: new Date(hour),
      samples: 3,
      cpuPercent: 30,
      cpuPercentMax: 60,
      connections: 4,
      connectionsMax: 6,
      memoryBytes: 200n,
      queriesPerSec: 2,
      queriesPerSecMax: 3,
    });
    expect(minutes[1]).toMatchObject({ samples: 1, cpuPercent: 50, connections: 8 });
    const hours = await ctx.prisma.instanceMetricHour.findMany({ where: { instanceId } });
    expect(hours).toHaveLength(1);
    expect(hours[0]).toMatchObject({
      bucket: new Date(hour),
      samples: 4,
      cpuPercent: 35,
      cpuPercentMax: 60,
      connections: 5,
      connectionsMax: 8,
      memoryBytes: 250n,
      queriesPerSecMax: 8,
    });
    // Three samples knew queries/s (1, 3, 8); weighted by minutes: (2*3 + 8*1) / 4 = 3.5 (the
    // minute's unknown sample counts with its minute's average; documented trade-off).
    expect(hours[0]!.queriesPerSec).toBeCloseTo(3.5, 5);

    // A sample arriving late (within the recompute window) is counted at the next sweep.
    await ctx.prisma.instanceMetric.create({
      data: { instanceId, at: new Date(hour + 66_000), cpuPercent: 70 },
    });
    await rollupMetrics(ctx.prisma, new Date(hour + 70_000), new Date(hour));
    const again = await ctx.prisma.instanceMetricMinute.findFirstOrThrow({
      where: { instanceId, bucket: new Date(hour + 60_000) },
    });
    expect(again).toMatchObject({ samples: 2, cpuPercent: 60, cpuPercentMax: 70 });

    // Retention: raw 24 h, minutes 7 days, hours 90 days.
    await pruneMetrics(ctx.prisma, new Date(hour + 25 * 3600_000));
    expect(await ctx.prisma.instanceMetric.count({ where: { instanceId } })).toBe(0);
    expect(await ctx.prisma.instanceMetricMinute.count({ where: { instanceId } })).toBe(2);
    await pruneMetrics(ctx.prisma, new Date(hour + 8 * 24 * 3600_000));
    expect(await ctx.prisma.instanceMetricMinute.count({ where: { instanceId } })).toBe(0);
    expect(await ctx.prisma.instanceMetricHour.count({ where: { instanceId } })).toBe(1);
    await pruneMetrics(ctx.prisma, new Date(hour + 91 * 24 * 3600_000));
    expect(await ctx.prisma.instanceMetricHour.count({ where: { instanceId } })).toBe(0);
  });
});
