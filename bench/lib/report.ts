/** Small helpers for benchmarks: statistics, a readable table, the closing JSON line. */
import { rssMib } from '@coffer/testing/processes';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** A side's timings in seconds: median, best and every run, as the benchmarks print them. */
export function stats(ms: number[]): { medianS: number; bestS: number; runsS: number[] } {
  return {
    medianS: round(median(ms) / 1000, 2),
    bestS: round(Math.min(...ms) / 1000, 2),
    runsS: ms.map((value) => round(value / 1000, 2)),
  };
}

export function printTable(
  title: string,
  header: string[],
  rows: Array<Array<string | number>>,
): void {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
      )
      .join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of cells.slice(1)) console.log(line(row));
}

/**
 * Two rows of a bare-against-Coffer table for a timing: the medians in seconds, the ratio of
 * Coffer's to bare's and its target; then every run's seconds.
 */
export function timingRows(
  label: string,
  bareMs: number[],
  cofferMs: number[],
  target: string,
): Array<Array<string | number>> {
  const s = (ms: number) => round(ms / 1000, 2);
  const ratio = median(cofferMs) / median(bareMs);
  return [
    [label, s(median(bareMs)), s(median(cofferMs)), round(ratio), target],
    ['  runs (s)', bareMs.map(s).join(' '), cofferMs.map(s).join(' '), '', ''],
  ];
}

/** Milliseconds since the epoch, from a monotonic clock's start. */
export function now(): number {
  return performance.now();
}

/** Resident memory of a process, in MiB (VmRSS) to a tenth, or null if it is gone. */
export function rssMiB(pid: number): number | null {
  const mib = rssMib(pid);
  return mib === null ? null : round(mib, 1);
}
