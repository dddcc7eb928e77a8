import { createServer, type Server } from 'node:net';

/**
 * Every test file's own ports, so that any two test files can run at once (vitest runs two
 * files side by side in `npm test`), in one run or in runs side by side on this machine.
 *
 * The ports 24000-31999 (below the kernel's ephemeral range, above the local provider's
 * default 23100-23999) are cut into blocks of 200. A test file holds a block by listening on
 * its first port for as long as its process lives: the kernel gives that port back when the
 * process ends, however it ends, so a block is never held by a process that is gone and two
 * live processes never hold the same one. The setup file `setup-ports.ts` (each vitest
 * project whose tests bind ports lists it in `setupFiles`) claims the block before the test
 * file loads; the file's harnesses read it with {@link testPorts}.
 *
 * A block: its first port (the hold), then `instances` (119 ports: the local provider's
 * `portRange` of every harness of the file, `COFFER_INSTANCE_PORT_RANGE` of its workers), then
 * `spare` (80 ports: Swift, squatters, proxies: whatever else the file listens on).
 */
export const TEST_PORT_BLOCKS = { first: 24000, size: 200, count: 40 } as const;

export interface PortRange {
  min: number;
  max: number;
}

export interface TestPorts {
  /** The block's index (0 … count-1) and the port held for it. */
  block: number;
  held: number;
  /** For the file's instances: a harness's or worker's `portRange`. */
  instances: PortRange;
  /** Anything else the file listens on. */
  spare: PortRange;
}

interface Held {
  ports: TestPorts;
  server: Server;
}

/** Kept on globalThis: one claim per process, whichever copy of this module asks. */
const HELD = Symbol.for('coffer.testing.testPorts');
type WithHeld = typeof globalThis & { [HELD]?: Held };

/** The ports of block `block`. */
export function portsOfBlock(block: number): TestPorts {
  const held = TEST_PORT_BLOCKS.first + block * TEST_PORT_BLOCKS.size;
  return {
    block,
    held,
    instances: { min: held + 1, max: held + 119 },
    spare: { min: held + 120, max: held + TEST_PORT_BLOCKS.size - 1 },
  };
}

function listenOn(port: number): Promise<Server | null> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(null);
      else reject(error);
    });
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      // Holding the port must not keep the process alive.
      server.unref();
      resolve(server);
    });
  });
}

/**
 * Holds the first free block, starting at a random one (so runs side by side seldom race for
 * the same); the caller closes the server to give it back. Throws when every block is held.
 */
export async function holdPortBlock(): Promise<Held> {
  const { count } = TEST_PORT_BLOCKS;
  const start = Math.floor(Math.random() * count);
  for (let offset = 0; offset < count; offset += 1) {
    const block = (start + offset) % count;
    const ports = portsOfBlock(block);
    const server = await listenOn(ports.held);
    if (server) return { ports, server };
  }
  throw new Error(
    `every test port block (${count} of ${TEST_PORT_BLOCKS.size} from ${TEST_PORT_BLOCKS.first}) is held: more test files at once than blocks?`,
  );
}

/** This process's block: claimed once, then the same for as long as the process lives. */
export async function claimTestPorts(): Promise<TestPorts> {
  const scope = globalThis as WithHeld;
  scope[HELD] ??= await holdPortBlock();
  return scope[HELD].ports;
}

/** The block {@link claimTestPorts} claimed (the setup file did, before the test file loaded). */
export function testPorts(): TestPorts {
  const held = (globalThis as WithHeld)[HELD];
  if (!held) {
    throw new Error(
      "this test file has no ports of its own: add '@coffer/testing/setup-ports' to its vitest project's setupFiles",
    );
  }
  return held.ports;
}

/** `min-max`, as COFFER_INSTANCE_PORT_RANGE spells a range. */
export function formatPortRange({ min, max }: PortRange): string {
  return `${min}-${max}`;
}
