// Create → ACTIVE through the worker's integration path, N times in a row: the row and the
// `instance.create` job as the web app writes them, the real worker in this process, real
// guests and mariadbd. Prints each time and the median.
//
//   COFFER_TEST_PG_ADMIN_URL=… REDIS_URL=… node --import tsx apps/worker/scripts/bench-create.ts [runs]
import { waitFor, WorkerTestContext } from '../test/harness';

const runs = Number(process.argv[2] ?? 5);
const ctx = new WorkerTestContext({ name: 'bench', portRange: { min: 34900, max: 34999 } });
await ctx.setUp();
await ctx.startWorker();
const times: number[] = [];
try {
  for (let run = 0; run < runs; run++) {
    const startedAt = performance.now();
    const { instanceId } = await ctx.createInstance();
    await waitFor(async () => (await ctx.displayStatus(instanceId)) === 'ACTIVE', {
      timeoutMs: 60_000,
      intervalMs: 5,
      what: 'ACTIVE',
    });
    const ms = Math.round(performance.now() - startedAt);
    times.push(ms);
    process.stdout.write(`run ${run + 1}: create → ACTIVE ${ms} ms\n`);
    await ctx.deleteInstance(instanceId);
    await waitFor(async () => (await ctx.row(instanceId)) === null, {
      timeoutMs: 60_000,
      what: 'deleted',
    });
  }
} finally {
  await ctx.close();
}
const sorted = [...times].sort((a, b) => a - b);
process.stdout.write(
  `median ${sorted[Math.floor(sorted.length / 2)]} ms (min ${sorted[0]}, max ${sorted.at(-1)})\n`,
);
