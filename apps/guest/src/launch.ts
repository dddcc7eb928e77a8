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
 * refuses a cache made with other flags). The caller appends `--config-dir <dir>`. Imports
 * nothing of the guest.
 */
export const GUEST_NODE_FLAGS = [
  '--optimize-for-size',
  '--no-opt',
  '--max-semi-space-size=1',
  '--expose-gc',
] as const;

export const GUEST_BUNDLE_PATH = fileURLToPath(new URL('../dist/guest.mjs', import.meta.url));

export function guestLaunchCommand(nodePath: string = process.execPath): {
  command: string;
  args: string[];
} {
  return { command: nodePath, args: [...GUEST_NODE_FLAGS, GUEST_BUNDLE_PATH] };
}
