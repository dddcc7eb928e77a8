import { type MetricsSampleInput } from '@coffer/contracts';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

import { type ServerMetricsReading } from '../managers/datastore-manager';
import { type ConductorReporter } from './conductor-reporter';
import { MetricsSampler, readCpuTicks, readRssBytes } from './metrics-sampler';

/** A sampler over this process (as both "server" and guest), with counters the test sets. */
function samplerWith(reading: () => ServerMetricsReading | undefined) {
  const sent: MetricsSampleInput[] = [];
  let now = 1_000_000;
  const sampler = new MetricsSampler({
    intervalMs: 1000,
    readServer: () => Promise.resolve(reading()),
    reporter: {
      sendMetrics: (sample: MetricsSampleInput) => {
        sent.push(sample);
        return Promise.resolve('1-0');
      },
    } as unknown as ConductorReporter,
    logger: pino({ level: 'silent' }),
    now: () => now,
  });
  return { sampler, sent, advance: (ms: number) => (now += ms) };
}

const status = (questions: number, extra: Record<string, number> = {}) => ({
  Threads_connected: 3,
  Max_used_connections: 9,
  Aborted_connects: 0,
  Questions: questions,
  Slow_queries: 0,
  Innodb_buffer_pool_reads: 10,
  Innodb_buffer_pool_read_requests: 1000,
  Innodb_buffer_pool_pages_dirty: 4,
  Rows_read: 0,
  Handler_write: 0,
  Handler_update: 0,
  Handler_delete: 0,
  ...extra,
});

describe('the metrics sampler', () => {
  it('reads CPU ticks and memory from /proc', () => {
    expect(readCpuTicks(process.pid)).toBeGreaterThan(0);
    expect(readRssBytes(process.pid)).toBeGreaterThan(1024 ** 2);
    expect(readCpuTicks(2 ** 30)).toBeNull();
  });

  it("makes rates of the counters' deltas, nulls after a counter went backwards, and skips nudged beats", async () => {
    let counters = status(100);
    const { sampler, sent, advance } = samplerWith(() => ({
      pid: process.pid,
      counters: { status: counters, maxConnections: 151, binlogBytes: 4096 },
    }));
    await sampler.afterBeat({ volume: { usedBytes: 5, totalBytes: 10, fault: null } });
    expect(sent[0]).toMatchObject({
      connections: 3,
      maxUsedConnections: 9,
      queriesPerSec: null,
      cpuPercent: null,
      volumeUsedBytes: 5,
      binlogBytes: 4096,
      maxConnections: 151,
    });
    expect(sent[0]!.memoryBytes).toBeGreaterThan(0);

    // Half an interval later (a beat nudged by a status change): no sample.
    advance(400);
    await sampler.afterBeat({});
    expect(sent).toHaveLength(1);

    advance(1600);
    counters = status(300, {
      Innodb_buffer_pool_reads: 20,
      Innodb_buffer_pool_read_requests: 1100,
      Rows_read: 1000,
      Handler_write: 30,
      Handler_update: 6,
      Handler_delete: 4,
    });
    await sampler.afterBeat({
      replication: { replica: { secondsBehindSource: 7 } } as never,
    });
    expect(sent[1]).toMatchObject({
      queriesPerSec: 100,
      rowsReadPerSec: 500,
      rowsWrittenPerSec: 20,
      bufferPoolHitRatio: 0.9,
      replicationLagSeconds: 7,
      volumeUsedBytes: null,
    });
    expect(sent[1]!.cpuPercent).toBeGreaterThanOrEqual(0);

    // The server restarted: its counters start over; no rate from that sample.
    advance(1000);
    counters = status(5);
    await sampler.afterBeat({});
    expect(sent[2]).toMatchObject({ queriesPerSec: null, connections: 3 });
  });

  it('sends the guest its own figures when the server is down', async () => {
    const { sampler, sent } = samplerWith(() => undefined);
    await sampler.afterBeat({});
    expect(sent[0]).toMatchObject({ cpuPercent: null, memoryBytes: null, connections: null });
    expect(sent[0]!.guestMemoryBytes).toBeGreaterThan(0);
  });
});
