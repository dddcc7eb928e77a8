import { readFileSync } from 'node:fs';

import { type MetricsSampleInput, type ReplicationStatus } from '@coffer/contracts';
import { type Logger } from 'pino';

import { withTimeout } from '../lib/timeout';
import { type ServerMetricsReading } from '../managers/datastore-manager';
import { type ServerCounters, type StatusCounter } from '../managers/mariadb/server-counters';
import { type ConductorReporter } from './conductor-reporter';
import { type VolumeReport } from './volume-watch';

/**
 * The guest's metrics (issue 16): after every heartbeat, one sample of the server's and the
 * guest's own CPU and memory (/proc), the server's counters (the datastore manager's
 * `readServerMetrics`), and what the beat already read (the replica's lag, the volume), sent
 * as a signed `metrics` message. Rates are deltas over the time since the previous sample;
 * a counter that went backwards (the server restarted) gives null for that sample. Samples
 * closer together than half the interval (a beat nudged by a status change) are skipped.
 */

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on every Linux Node runs on). */
const CLOCK_TICKS = 100;

interface CpuReading {
  pid: number;
  ticks: number;
}

interface Previous {
  atMs: number;
  server: CpuReading | null;
  guest: CpuReading | null;
  counters: ServerCounters['status'] | null;
}

/** utime + stime of a process, in clock ticks; null when it cannot be read. */
export function readCpuTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command (field 2) is in parentheses and may hold spaces: fields count from after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

/** VmRSS of a process, in bytes; null when it cannot be read. */
export function readRssBytes(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export interface BeatReadings {
  replication?: ReplicationStatus;
  volume?: VolumeReport;
}

export class MetricsSampler {
  private previous: Previous | null = null;

  constructor(
    private readonly options: {
      intervalMs: number;
      readServer?: () => Promise<ServerMetricsReading | undefined>;
      reporter: ConductorReporter;
      logger: Logger;
      guestPid?: number;
      now?: () => number;
    },
  ) {}

  /** Samples and sends (never throws). */
  async afterBeat(readings: BeatReadings): Promise<void> {
    const now = (this.options.now ?? Date.now)();
    if (this.previous && now - this.previous.atMs < this.options.intervalMs / 2) return;
    try {
      const sample = await this.sample(now, readings);
      await withTimeout(
        this.options.reporter.sendMetrics(sample),
        Math.max(5000, this.options.intervalMs),
        'sending the metrics',
      );
    } catch (error) {
      this.options.logger.warn({ err: error }, 'metrics not sent');
    }
  }

  /** One sample; remembers what the next one makes its rates from. */
  async sample(now: number, readings: BeatReadings): Promise<MetricsSampleInput> {
    const server = await this.options.readServer?.().catch(() => undefined);
    const guestPid = this.options.guestPid ?? process.pid;
    const serverCpu = server ? cpuReading(server.pid) : null;
    const guestCpu = cpuReading(guestPid);
    const counters = server?.counters?.status ?? null;
    const previous = this.previous;
    this.previous = { atMs: now, server: serverCpu, guest: guestCpu, counters };

    const seconds = previous ? (now - previous.atMs) / 1000 : 0;
    const cpu = (current: CpuReading | null, before: CpuReading | null | undefined) =>
      current && before && current.pid === before.pid && seconds > 0
        ? nonNegative(((current.ticks - before.ticks) / CLOCK_TICKS / seconds) * 100)
        : null;
    const delta = (...names: StatusCounter[]): number | null => {
      if (!counters || !previous?.counters) return null;
      let sum = 0;
      for (const name of names) {
        const current = counters[name];
        const before = previous.counters[name];
        if (current === undefined || before === undefined || current < before) return null;
        sum += current - before;
      }
      return sum;
    };
    const perSecond = (...names: StatusCounter[]) => {
      const value = delta(...names);
      return value === null || seconds <= 0 ? null : value / seconds;
    };
    const reads = delta('Innodb_buffer_pool_reads');
    const requests = delta('Innodb_buffer_pool_read_requests');

    return {
      cpuPercent: cpu(serverCpu, previous?.server),
      memoryBytes: server ? readRssBytes(server.pid) : null,
      guestCpuPercent: cpu(guestCpu, previous?.guest),
      guestMemoryBytes: readRssBytes(guestPid),
      connections: counters?.Threads_connected ?? null,
      maxUsedConnections: counters?.Max_used_connections ?? null,
      abortedConnectsPerSec: perSecond('Aborted_connects'),
      queriesPerSec: perSecond('Questions'),
      slowQueriesPerSec: perSecond('Slow_queries'),
      bufferPoolHitRatio:
        reads !== null && requests !== null && requests > 0
          ? Math.min(1, Math.max(0, 1 - reads / requests))
          : null,
      dirtyPages: counters?.Innodb_buffer_pool_pages_dirty ?? null,
      rowsReadPerSec: perSecond('Rows_read'),
      rowsWrittenPerSec: perSecond('Handler_write', 'Handler_update', 'Handler_delete'),
      replicationLagSeconds: readings.replication?.replica?.secondsBehindSource ?? null,
      volumeUsedBytes: readings.volume?.usedBytes ?? null,
      volumeTotalBytes: readings.volume?.totalBytes ?? null,
      binlogBytes: server?.counters?.binlogBytes ?? null,
      maxConnections: server?.counters?.maxConnections ?? null,
    };
  }
}

function cpuReading(pid: number): CpuReading | null {
  const ticks = readCpuTicks(pid);
  return ticks === null ? null : { pid, ticks };
}

function nonNegative(value: number): number | null {
  return Number.isFinite(value) && value >= 0 ? value : null;
}
