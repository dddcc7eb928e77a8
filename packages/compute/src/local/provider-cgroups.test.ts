import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { cleanUp, FAKE_GUEST, specFor, testBaseDir, testPortRange } from '../../test/fixture';
import { createInstanceCgroups, GUEST_AGENT_HEADROOM_MB } from './cgroups';
import { LocalComputeProvider } from './local-provider';

/**
 * The local provider's flavor limits (cgroups.ts) with a stand-in guest that holds memory as
 * a database server would: every start puts the guest in its group, resizeServer changes the
 * limits in place (and restarts the guest when memory must shrink below its use), a retried
 * create moves a guest found outside its group back in, delete removes the group.
 */

const baseDir = testBaseDir();
const holdFile = join(baseDir, 'hold-mb');
const MiB = 1024 * 1024;
const providers: LocalComputeProvider[] = [];

function newProvider(): LocalComputeProvider {
  const provider = new LocalComputeProvider({
    dataDir: join(baseDir, randomBytes(3).toString('hex')),
    guestCommand: {
      command: process.execPath,
      args: [FAKE_GUEST],
      env: { FAKE_GUEST_HOLD_FILE: holdFile },
    },
    portRange: testPortRange(),
    stopTimeoutMs: 2000,
  });
  providers.push(provider);
  return provider;
}

// Deletes every server, and with them their groups, even after a failure.
afterAll(() => cleanUp(providers, baseDir));

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const probe = createInstanceCgroups();

describe.skipIf(probe.version === null)(
  `LocalComputeProvider flavor limits (${probe.version ?? probe.reason})`,
  () => {
    it('starts the guest in its group, resizes in place, restarts only to shrink below use, and removes the group', async () => {
      mkdirSync(baseDir, { recursive: true });
      writeFileSync(holdFile, '300');
      const provider = newProvider();
      const spec = specFor();
      const id = spec.instanceId;
      await provider.createServer(spec);
      const first = provider.guestPid(id)!;
      expect(provider.cgroups.pids(id)).toEqual([first]);
      expect(provider.cgroups.stats(id)).toMatchObject({
        memoryLimitBytes: (512 + GUEST_AGENT_HEADROOM_MB) * MiB,
        cpuQuotaUs: 100_000,
      });
      await waitUntil(
        () => (provider.cgroups.stats(id)?.memoryAnonBytes ?? 0) >= 300 * MiB,
        `the guest to hold 300 MB (${JSON.stringify(provider.cgroups.stats(id))})`,
        60_000,
      );

      // Larger: in place, the guest keeps running; the same again changes nothing.
      for (let round = 0; round < 2; round++) {
        expect(await provider.resizeServer(id, { vcpus: 2, ramMb: 1024 })).toBe('in-place');
        expect(provider.cgroups.stats(id)).toMatchObject({
          memoryLimitBytes: (1024 + GUEST_AGENT_HEADROOM_MB) * MiB,
          cpuQuotaUs: 200_000,
        });
        expect(provider.guestPid(id)).toBe(first);
      }

      // Smaller than the 300 MB in use: the guest is restarted inside the new limit (and,
      // told by the file, no longer holds the memory, as a server with a smaller my.cnf).
      rmSync(holdFile);
      expect(await provider.resizeServer(id, { vcpus: 1, ramMb: 64 })).toBe('restarted');
      const second = provider.guestPid(id);
      expect(second).not.toBeNull();
      expect(second).not.toBe(first);
      expect(provider.cgroups.pids(id)).toEqual([second]);
      expect(provider.cgroups.stats(id)).toMatchObject({
        memoryLimitBytes: (64 + GUEST_AGENT_HEADROOM_MB) * MiB,
        cpuQuotaUs: 100_000,
        oomKills: 0,
      });
      expect((await provider.getServer(id))?.flavor).toEqual({ vcpus: 1, ramMb: 64 });
      // Idempotent: no second restart.
      expect(await provider.resizeServer(id, { vcpus: 1, ramMb: 64 })).toBe('in-place');
      expect(provider.guestPid(id)).toBe(second);

      // A reboot starts the guest in the group again.
      await provider.rebootServer(id);
      const third = provider.guestPid(id)!;
      expect(provider.cgroups.pids(id)).toEqual([third]);

      // A guest found running outside its group (started before confinement) is moved back
      // in by a retried create.
      const procsFiles = provider.cgroups.prepare(id, { vcpus: 1, ramMb: 64 });
      for (const file of procsFiles) {
        writeFileSync(join(dirname(dirname(dirname(file))), 'cgroup.procs'), `${third}\n`);
      }
      expect(provider.cgroups.pids(id)).toEqual([]);
      await provider.createServer(spec);
      expect(provider.guestPid(id)).toBe(third);
      expect(provider.cgroups.pids(id)).toEqual([third]);

      await provider.deleteServer(id);
      expect(provider.cgroups.exists(id)).toBe(false);
    });
  },
);
