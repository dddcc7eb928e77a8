import { rmSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ChildWorker } from '../test/child-worker';
import { assertTestNames, WorkerTestContext } from '../test/harness';
import { DEFAULT_NAMES } from './settings';

/**
 * Test files never share the production Redis names: a live worker of one file would take
 * another's jobs when files run side by side (test/setup-names.ts, test/harness.ts).
 */
describe("a test file's Redis names", () => {
  it('include a BullMQ prefix of its own in the environment (what the web app and an unnamed worker use)', () => {
    expect(process.env.COFFER_QUEUE_PREFIX).toMatch(/^t-test-names-[0-9a-f]{6}$/);
  });

  it("are the harness's own, named after the file, and the production names are refused", async () => {
    const ctx = new WorkerTestContext();
    expect(ctx.names.queuePrefix).toMatch(/^wt-test-names-[0-9a-f]{8}$/);
    expect(() => assertTestNames(ctx.names)).not.toThrow();
    expect(() => assertTestNames(DEFAULT_NAMES)).toThrow(
      /must not use the default queuePrefix \(bull\)/,
    );
    expect(() =>
      assertTestNames({ ...ctx.names, conductorStream: DEFAULT_NAMES.conductorStream }),
    ).toThrow(/conductorStream/);
    expect(() => new ChildWorker({ names: { ...ctx.names, queuePrefix: 'bull' } })).toThrow(
      /queuePrefix/,
    );
    await ctx.queue.close();
    await ctx.redis.quit();
    rmSync(ctx.dataDir, { recursive: true, force: true });
  });
});
