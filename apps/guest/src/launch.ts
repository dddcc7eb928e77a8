import { fileURLToPath } from 'node:url';

/**
 * How to run the bundled guest (`npm run build` makes dist/guest.mjs), for whoever starts
 * guests (the local compute provider, a VM image's service unit): plain node, no loader,
 * and V8 tuned for size: no optimizing compiler and a 1 MB young generation (the guest
 * mostly waits; this takes ~10 MB off an idle guest). Not `--lite-mode`: it would save
 * ~3 MB more but implies --jitless, which removes WebAssembly and with it `fetch`.
 * `--expose-gc`: a backup collects its young generation once per sealed chunk, which keeps
 * its peak memory to its chunk buffers (see backup/chunk-writer.ts).
 * The build makes the agent bundle's V8 code cache with exactly these flags (loader.ts: V8
 * refuses a cache made with other flags). The caller appends `--config-dir <dir>` and adds
 * GUEST_ENV to the environment. Imports nothing of the guest.
 */
export const GUEST_NODE_FLAGS = [
  '--optimize-for-size',
  '--no-opt',
  '--max-semi-space-size=1',
  '--expose-gc',
] as const;

/**
 * The guest's allocator settings (glibc's malloc holds Node's buffers), in its environment.
 * A backup seals its stream 256 KiB at a time, each piece into a new buffer, and collects them
 * once per chunk. With glibc's defaults the freed pieces can go back to the kernel at once
 * (its trim threshold follows the mmap threshold, to 512 KiB) and the next chunk's pieces
 * fault fresh pages in, which a virtual machine makes dear: sealing 805 MiB apart from a
 * backup took ~100,000 faults and ~1 s of system time in some runs; a real backup's guest
 * took 13,930 faults against 10,259 with these (docs/benchmarks.md). With these, allocations
 * below 1 MiB come from the heap and up to 16 MiB of it freed is kept for reuse; larger ones
 * (the 8 MiB chunk buffers) are still mapped apart and returned when freed. The guest removes
 * the variable from its environment as it starts (the tools it runs keep glibc's defaults).
 */
export const GUEST_ENV = {
  GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=1048576:glibc.malloc.trim_threshold=16777216',
} as const;

export const GUEST_BUNDLE_PATH = fileURLToPath(new URL('../dist/guest.mjs', import.meta.url));

/** The bundled guest's command: this Node, the guest's flags, and GUEST_ENV with `env` added. */
export function guestLaunchCommand({ env = {} }: { env?: Record<string, string> } = {}): {
  command: string;
  args: string[];
  /** The guest's environment besides PATH. */
  env: Record<string, string>;
} {
  return {
    command: process.execPath,
    args: [...GUEST_NODE_FLAGS, GUEST_BUNDLE_PATH],
    env: { ...GUEST_ENV, ...env },
  };
}
