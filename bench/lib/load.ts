/**
 * The machine's load while a benchmark runs: the 1-minute load average sampled every second,
 * reported as its minimum, median and maximum (with the core count) so a figure can be read
 * against how busy the machine was. Every benchmark's JSON line carries it as `load`.
 */
import { availableParallelism, loadavg } from 'node:os';
import { median, round } from './report';

export interface LoadReport {
  cores: number;
  min: number;
  median: number;
  max: number;
  samples: number;
}

export interface LoadSampler {
  /** Stops sampling and returns what was seen (at least one sample: the one taken at start). */
  stop(): LoadReport;
}

export function sampleLoad(intervalMs = 1_000): LoadSampler {
  const samples = [loadavg()[0]!];
  const timer = setInterval(() => samples.push(loadavg()[0]!), intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      samples.push(loadavg()[0]!);
      return {
        cores: availableParallelism(),
        min: round(Math.min(...samples), 2),
        median: round(median(samples), 2),
        max: round(Math.max(...samples), 2),
        samples: samples.length,
      };
    },
  };
}

/** "load 1.2–3.4 (median 2.0) on 2 cores", for a table's title. */
export function loadText(load: LoadReport): string {
  return `load ${load.min}–${load.max} (median ${load.median}) on ${load.cores} cores`;
}
