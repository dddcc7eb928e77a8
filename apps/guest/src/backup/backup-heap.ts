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

/**
 * A young-generation collection, when the guest runs with --expose-gc (GUEST_NODE_FLAGS): frees
 * the pieces a chunk was read, sealed or opened in (about a chunk's worth of short-lived
 * buffers each time). Left to itself V8 collects buffers only once their memory has grown by
 * tens of MiB since its last collection, which made most of a backup's and a restore's peak;
 * a scavenge of the guest's 1 MB young generation takes well under a millisecond, once a chunk.
 */
export function collectPieces(): void {
  (globalThis as { gc?: (options: { type: 'minor' }) => void }).gc?.({ type: 'minor' });
}
