import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { codeOf } from '~/test/callers';
import { useHarness } from '~/test/suite';

/**
 * The metrics and alerts API (issue 16, parts 1 and 5): metrics.instance picks its resolution
 * by the span asked for, metrics.project gives the instance list's figures, metrics.busiest is
 * for operators, alerts follow the one rule; another project's instance is "not found". No
 * worker: the samples are written as the conductor and the watchdog's sweep write them.
 */

const h = useHarness({ obliterateQueue: true });

async function setUp(name: string) {
  const { owner, project } = await h.createProjectWithOwner(name);
  const caller = h.callerFor(owner);
  const flavor = await h.prisma.flavor.findFirstOrThrow({ where: { isDisabled: false } });
  const created = await caller.instance.create({
    projectId: project.id,
    name: `${name.toLowerCase()}-db`,
    flavorId: flavor.id,
    volumeSizeGb: 1,
  });
  return { owner, project, caller, instanceId: created.id };
}

/** One raw sample a second for the last `seconds`, CPU rising 1 % a second. */
async function writeSamples(instanceId: string, seconds: number, extra: object = {}) {
  const now = Date.now();
  await h.prisma.instanceMetric.createMany({
    data: Array.from({ length: seconds }, (_, index) => ({
      instanceId,
      at: new Date(now - (seconds - index) * 1000),
      cpuPercent: index,
      connections: 5,
      maxConnections: 100,
      memoryBytes: BigInt(1024 ** 3),
      volumeUsedBytes: 100n,
      volumeTotalBytes: 1000n,
      ...extra,
    })),
  });
}

describe('metrics.instance', () => {
  it('gives raw samples for an hour (with the latest and max_connections), 1-minute rollups for 24 h, 1-hour beyond 7 days', async () => {
    const { project, caller, instanceId } = await setUp('Charts');
    const empty = await caller.metrics.instance({ projectId: project.id, instanceId });
    expect(empty).toMatchObject({
      resolution: 'raw',
      points: [],
      latest: null,
      maxConnections: null,
    });

    await writeSamples(instanceId, 120);
    const hour = await caller.metrics.instance({ projectId: project.id, instanceId, range: '1h' });
    expect(hour.resolution).toBe('raw');
    expect(hour.stepSeconds).toBe(9);
    expect(hour.points.length).toBeGreaterThan(10);
    expect(hour.points.length).toBeLessThanOrEqual(400);
    expect(hour.latest).toMatchObject({ cpuPercent: 119, connections: 5, memoryBytes: 1024 ** 3 });
    expect(hour.maxConnections).toBe(100);
    // Buckets are averages of their samples: all 120 samples' mean CPU is kept.
    const cpu = hour.points.map((point) => point.cpuPercent!);
    expect(Math.min(...cpu)).toBeLessThan(10);
    expect(Math.max(...cpu)).toBeGreaterThan(110);

    const bucket = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 60_000);
    await h.prisma.instanceMetricMinute.create({
      data: { instanceId, bucket, samples: 60, cpuPercent: 42, volumeUsedBytes: 7n },
    });
    const day = await caller.metrics.instance({ projectId: project.id, instanceId, range: '24h' });
    expect(day.resolution).toBe('1m');
    expect(day.stepSeconds).toBe(240);
    expect(day.points).toEqual([
      expect.objectContaining({ cpuPercent: 42, volumeUsedBytes: 7, queriesPerSec: null }),
    ]);

    await h.prisma.instanceMetricHour.create({
      data: { instanceId, bucket: new Date('2026-01-05T10:00:00Z'), samples: 3600, cpuPercent: 7 },
    });
    const custom = await caller.metrics.instance({
      projectId: project.id,
      instanceId,
      from: '2026-01-01T00:00:00Z',
      to: '2026-01-20T00:00:00Z',
    });
    // 19 days in at most 400 buckets: two hours each, from the window's start.
    expect(custom).toMatchObject({ resolution: '1h', stepSeconds: 7200 });
    expect(custom.points).toEqual([
      expect.objectContaining({ at: '2026-01-05T10:00:00.000Z', cpuPercent: 7 }),
    ]);
  });

  it('answers BAD_REQUEST for a range it cannot read', async () => {
    const { project, caller, instanceId } = await setUp('Ranges');
    for (const input of [
      { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' },
      { from: '2025-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' },
      { from: 'yesterday' },
      { to: '2026-01-01T00:00:00Z' },
      { range: '1h' as const, from: '2026-01-01T00:00:00Z' },
    ]) {
      expect(
        await codeOf(caller.metrics.instance({ projectId: project.id, instanceId, ...input })),
      ).toBe('BAD_REQUEST');
    }
  });
});

describe('metrics.project and metrics.busiest', () => {
  it("gives each instance's latest sample and a 1-minute sparkline; operators see the busiest across projects", async () => {
    const { owner, project, caller, instanceId } = await setUp('Sparks');
    await writeSamples(instanceId, 90);
    const list = await caller.metrics.project({ projectId: project.id });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ instanceId, latest: { cpuPercent: 89 } });
    expect(list[0]!.spark.length).toBeGreaterThanOrEqual(2);
    expect(list[0]!.spark.length).toBeLessThanOrEqual(3);
    expect(list[0]!.spark.every((point) => point.connections === 5)).toBe(true);

    expect(await codeOf(caller.metrics.busiest({ limit: 5 }))).toBe('FORBIDDEN');
    await h.makeOperator(owner.id);
    const busiest = await caller.metrics.busiest({ limit: 100 });
    expect(busiest).toContainEqual(
      expect.objectContaining({
        instanceId,
        instanceName: 'sparks-db',
        projectId: project.id,
        projectName: 'Sparks',
        latest: expect.objectContaining({ cpuPercent: 89 }),
      }),
    );
  });
});

describe('alerts', () => {
  it("lists an instance's volume, connections and replica lag past their thresholds, and the project's instances that need attention", async () => {
    const { project, caller, instanceId } = await setUp('Alerts');
    expect(await caller.alerts.instance({ projectId: project.id, instanceId })).toEqual([]);
    expect(await caller.alerts.project({ projectId: project.id })).toEqual([]);

    const flavor = await h.prisma.flavor.findFirstOrThrow({ where: { isDisabled: false } });
    const replica = await caller.instance.create({
      projectId: project.id,
      name: 'alerts-replica',
      flavorId: flavor.id,
      volumeSizeGb: 1,
    });
    await h.prisma.instance.update({
      where: { id: instanceId },
      data: { volumeUsedBytes: 950n, volumeTotalBytes: 1000n },
    });
    await h.prisma.instance.update({
      where: { id: replica.id },
      data: { replicaOfId: instanceId, replicationLagSeconds: 31 },
    });
    await writeSamples(instanceId, 3, { connections: 91 });

    const alerts = await caller.alerts.instance({ projectId: project.id, instanceId });
    expect(alerts.map((alert) => alert.kind).sort()).toEqual(['connections', 'volume']);
    expect(alerts.find((alert) => alert.kind === 'volume')).toMatchObject({
      value: 0.95,
      threshold: 0.9,
    });
    // By name: the source first, then its lagging replica.
    expect(await caller.alerts.project({ projectId: project.id })).toEqual([
      { instanceId, instanceName: 'alerts-db', alerts: expect.any(Array) },
      {
        instanceId: replica.id,
        instanceName: 'alerts-replica',
        alerts: [expect.objectContaining({ kind: 'replicationLag', value: 31, threshold: 30 })],
      },
    ]);
  });
});

describe('tenant isolation', () => {
  it("another project's member gets NOT_FOUND for the metrics and alerts of an instance not theirs", async () => {
    const mine = await setUp('Mine');
    const theirs = await setUp('Theirs');
    await writeSamples(mine.instanceId, 3);
    for (const call of [
      () =>
        theirs.caller.metrics.instance({
          projectId: theirs.project.id,
          instanceId: mine.instanceId,
        }),
      () =>
        theirs.caller.metrics.instance({ projectId: mine.project.id, instanceId: mine.instanceId }),
      () => theirs.caller.metrics.project({ projectId: mine.project.id }),
      () =>
        theirs.caller.alerts.instance({
          projectId: theirs.project.id,
          instanceId: mine.instanceId,
        }),
      () =>
        theirs.caller.alerts.instance({ projectId: mine.project.id, instanceId: mine.instanceId }),
      () => theirs.caller.alerts.project({ projectId: mine.project.id }),
      () => mine.caller.metrics.instance({ projectId: mine.project.id, instanceId: randomUUID() }),
    ]) {
      expect(await codeOf(call())).toBe('NOT_FOUND');
    }
    // Their own project lists only their instance, without my samples.
    expect(await theirs.caller.metrics.project({ projectId: theirs.project.id })).toEqual([
      { instanceId: theirs.instanceId, latest: null, spark: [] },
    ]);
  });
});
