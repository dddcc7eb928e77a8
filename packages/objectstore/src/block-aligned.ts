/**
 * Buffers whose memory starts on a page boundary, so that a local store can write them to
 * disk and read them back with direct I/O (O_DIRECT: the device reads or writes the buffer
 * itself, bypassing the page cache), and the lengths of them direct I/O can move.
 *
 * Why: a backup writes hundreds of MiB of chunks that nobody reads soon. Through the page
 * cache each written page is a page of memory the kernel hands out fresh, and on the VMs this
 * was measured on the first touch of fresh memory costs ~17 µs per page: 50 new 8 MiB files,
 * each fsynced, took 1.22 s of system CPU buffered and 0.02 s direct.
 *
 * Node gives a Buffer no address and `Buffer.allocUnsafeSlow` comes from malloc (16 bytes
 * past a page for large sizes). A WebAssembly memory is mapped by V8 on its own pages, so a
 * view of one starts on a page boundary; where WebAssembly is unavailable (a `--jitless`
 * process) the buffer is an ordinary one and the store does buffered I/O. Nothing depends on
 * the alignment being right: a direct read or write the kernel refuses is done buffered.
 * Each such memory reserves about 10 GiB of address space for V8's guard regions (a process's
 * VSZ shows it; its RSS only the pages touched), given back when the buffer is collected:
 * 3000 allocations in a row in the guest's V8 flags never failed.
 */

/** What direct I/O asks of a buffer's address, an offset and a length: the page, which covers any device's logical block. */
export const DIRECT_IO_ALIGNMENT = 4096;

const WASM_PAGE_BYTES = 64 * 1024;

/** WebAssembly's memory, as far as used here (Node's types do not declare it without the DOM's). */
type WasmMemory = new (descriptor: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
const WasmMemory = (globalThis as { WebAssembly?: { Memory?: WasmMemory } }).WebAssembly?.Memory;

/** The memory of every buffer allocated here that starts on a page boundary. */
const pageAligned = new WeakSet<ArrayBufferLike>();

/** A buffer of `bytes`, page-aligned where the runtime allows it (its contents are not set). */
export function allocateBlockAligned(bytes: number): Buffer {
  const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE_BYTES));
  let memory: { buffer: ArrayBuffer };
  try {
    if (!WasmMemory) throw new Error('no WebAssembly');
    memory = new WasmMemory({ initial: pages, maximum: pages });
  } catch {
    return Buffer.allocUnsafeSlow(bytes);
  }
  pageAligned.add(memory.buffer);
  return Buffer.from(memory.buffer, 0, bytes);
}

/** Rounds `bytes` down to whole {@link DIRECT_IO_ALIGNMENT} blocks. */
export function wholeBlocks(bytes: number): number {
  return bytes - (bytes % DIRECT_IO_ALIGNMENT);
}

/**
 * How many bytes from the start of `buffer` direct I/O may use: its length in whole blocks
 * when it is a page-aligned view from {@link allocateBlockAligned}, 0 otherwise.
 */
export function directCapacity(buffer: Buffer): number {
  if (!pageAligned.has(buffer.buffer) || buffer.byteOffset % DIRECT_IO_ALIGNMENT !== 0) return 0;
  return wholeBlocks(buffer.length);
}
