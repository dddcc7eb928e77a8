import { setFlagsFromString } from 'node:v8';

/**
 * The guest runs with --optimize-for-size (GUEST_NODE_FLAGS: a small idle footprint). While
 * a backup streams, that flag makes V8 finish a full collection about every chunk (its
 * memory reducer counts the chunk's ciphertext pieces, garbage at once, as a reason to
 * shrink): measured on an 805 MiB stream, 80-90 mark-compacts and about 1.5 s of the guest's
 * CPU, against 3-20 and 0.2 s without it. So the flag is lifted while at least one backup
 * runs and set again when the last one ends; the heap stays as small (the chunk writer
 * collects its young generation once a chunk and keeps its buffers), only the collector's
 * eagerness changes. A restore's fetch lifts it too (fetch-chain.ts): its chunks pass
 * through the guest the same way. A process started without the flag (tests, tools) is
 * left alone.
 */

const isOptimizedForSize = process.execArgv.includes('--optimize-for-size');
let running = 0;

/** Lifts --optimize-for-size until the returned function is called (once per call). */
export function relaxHeapForBackup(): () => void {
  if (!isOptimizedForSize) return () => undefined;
  if (running++ === 0) setFlagsFromString('--no-optimize-for-size');
  let isReleased = false;
  return () => {
    if (isReleased) return;
    isReleased = true;
    if (--running === 0) setFlagsFromString('--optimize-for-size');
  };
}
