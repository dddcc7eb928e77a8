import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { holdPortBlock, portsOfBlock, TEST_PORT_BLOCKS } from './ports';

const run = promisify(execFile);

describe('test port blocks', () => {
  it('cut 24000-31999 into blocks whose parts never overlap, below the ephemeral ports', () => {
    const seen = new Set<number>();
    const twice: number[] = [];
    for (let block = 0; block < TEST_PORT_BLOCKS.count; block += 1) {
      const { held, instances, spare } = portsOfBlock(block);
      const ports = [held];
      for (let port = instances.min; port <= instances.max; port += 1) ports.push(port);
      for (let port = spare.min; port <= spare.max; port += 1) ports.push(port);
      for (const port of ports) {
        if (seen.has(port)) twice.push(port);
        seen.add(port);
      }
    }
    expect(twice).toEqual([]);
    expect(Math.min(...seen)).toBe(24000);
    expect(Math.max(...seen)).toBe(31999);
    expect(seen.size).toBe(TEST_PORT_BLOCKS.count * TEST_PORT_BLOCKS.size);
    // Above the local provider's default range, below Linux's default ephemeral range.
    expect(Math.min(...seen)).toBeGreaterThan(23999);
    expect(Math.max(...seen)).toBeLessThan(32768);
  });

  it('a held block is no one else’s: another claim gets another, another process cannot listen on it', async () => {
    const first = await holdPortBlock();
    const second = await holdPortBlock();
    try {
      expect(second.ports.block).not.toBe(first.ports.block);
      // Another process cannot listen on a held port.
      await expect(
        run(process.execPath, [
          '-e',
          `require('net').createServer().listen(${first.ports.held}, '127.0.0.1')`,
        ]),
      ).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await new Promise((resolve) => first.server.close(resolve));
      await new Promise((resolve) => second.server.close(resolve));
    }
  });
});
