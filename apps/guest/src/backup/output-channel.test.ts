import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import { openOutputChannel } from './output-channel';

/** A tool writing `bytes` pseudo-random bytes to its stdout, and their SHA-256 on stderr. */
function startWriter(stdout: unknown, bytes: number) {
  const script = `
    const { createHash } = require('node:crypto');
    const hash = createHash('sha256');
    let left = ${bytes}, seed = 1;
    const piece = Buffer.alloc(100_003);
    function next() {
      while (left > 0) {
        for (let i = 0; i < piece.length; i += 4) piece.writeUInt32LE((seed = (seed * 1103515245 + 12345) >>> 0), i < piece.length - 3 ? i : piece.length - 4);
        const out = piece.subarray(0, Math.min(left, piece.length));
        left -= out.length;
        hash.update(out);
        if (!process.stdout.write(out)) return process.stdout.once('drain', next);
      }
      process.stderr.write(hash.digest('hex'));
    }
    next();`;
  const child = spawn(process.execPath, ['-e', script], {
    stdio: ['ignore', stdout as 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  return { child, sha256: async () => (await once(child, 'close'), stderr) };
}

describe('output channel', () => {
  it("reads a tool's whole stdout into one reused buffer, waiting while the taker does", async () => {
    const channel = await openOutputChannel(64 * 1024);
    const tool = startWriter(channel.toolEnd, 3_000_000);
    channel.handedOver();
    const hash = createHash('sha256');
    let pieces = 0;
    const buffers = new Set<ArrayBufferLike>();
    const total = await channel.pump((piece) => {
      buffers.add(piece.buffer);
      if (++pieces % 5 !== 0) {
        hash.update(piece);
        return null;
      }
      // Taken later: the piece must not change meanwhile (no read reuses the buffer).
      const copy = Buffer.from(piece);
      return sleep(2).then(() => {
        expect(piece.equals(copy)).toBe(true);
        hash.update(piece);
      });
    });
    expect(total).toBe(3_000_000);
    expect(hash.digest('hex')).toBe(await tool.sha256());
    expect(buffers.size).toBe(1);
  });

  it('ends when the tool exits early, and fails the pump when the taker fails', async () => {
    const first = await openOutputChannel();
    const stopped = startWriter(first.toolEnd, 50_000_000);
    first.handedOver();
    let taken = 0;
    const pumped = first.pump((piece) => {
      taken += piece.length;
      if (taken > 1_000_000) stopped.child.kill('SIGKILL');
      return null;
    });
    expect(await pumped).toBeLessThan(50_000_000);

    const second = await openOutputChannel();
    const tool = startWriter(second.toolEnd, 5_000_000);
    second.handedOver();
    await expect(second.pump(() => Promise.reject(new Error('the store failed')))).rejects.toThrow(
      'the store failed',
    );
    tool.child.kill('SIGKILL');
    await once(tool.child, 'close');
  });
});
