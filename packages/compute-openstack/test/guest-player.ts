// Playing the guest of an OpenStack server on this machine, for the tests that run against the
// loopback OpenStack (its fake virt driver boots nothing): the guest's two files are read back
// from the server's user data in Nova, as the guest image's boot unit reads them from the config
// drive, the datastore's paths and port are moved to a directory of the test's own, and the
// real bundled guest is started with them. Used by guest-on-openstack.integration.test.ts (the
// provider driven directly) and by the web app's worker-path test (apps/web, an instance created
// through the API and built by the worker's taskmanager with COFFER_COMPUTE_PROVIDER=openstack).
// Needs the built guest bundle (`npm run build -w @coffer/guest`).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  GUEST_AGENT_CONFIG_FILE,
  GUEST_INFO_FILE,
  guestAgentConfigSchema,
  type GuestAgentConfig,
} from '@coffer/contracts';
import { guestLaunchCommand } from '@coffer/guest/launch';
import { listServers, type OpenStackSession } from '@coffer/openstack';

import { filesOfUserData } from '../src/injection';
import { instanceTag } from '../src/openstack-provider';

/** How long a played guest has to stop after SIGTERM before it is killed. */
const STOP_GRACE_MS = 30_000;

/** The pids of live processes whose command line mentions `needle` (this process excluded). */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) pids.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** A TCP port nobody listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface PlayedGuest {
  /** The agent config as Nova holds it (datastore paths and port as the image would use them). */
  agent: GuestAgentConfig;
  /** Where the played guest's mariadbd listens, on 127.0.0.1. */
  port: number;
  /** The guest's directory: `etc/` (its two files), `data/`, `log/guest.log`, `run/`. */
  dir: string;
  process: ChildProcess;
  /** SIGTERM, and waits until it exited (its mariadbd with it); then the directory goes. */
  stop(): Promise<void>;
}

/**
 * Starts the real guest of the instance's server from the files Nova holds for it: the server
 * is found by the instance's tag; `dir` (made here) takes its files, datastore and logs.
 */
export async function playGuestOf(
  session: OpenStackSession,
  instanceId: string,
  dir: string,
): Promise<PlayedGuest> {
  const [server] = await listServers(session, { tags: [instanceTag(instanceId)] });
  if (!server?.userData) throw new Error(`Nova has no server with user data for ${instanceId}`);
  const files = filesOfUserData(server.userData);
  const info = files.find((file) => file.path.endsWith(`/${GUEST_INFO_FILE}`));
  const config = files.find((file) => file.path.endsWith(`/${GUEST_AGENT_CONFIG_FILE}`));
  if (!info || !config) throw new Error(`the user data of ${server.id} lacks the guest's files`);
  const agent = guestAgentConfigSchema.parse(JSON.parse(config.content));
  const port = await freePort();
  const etc = join(dir, 'etc');
  for (const sub of ['etc', 'data', 'log', 'run']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(etc, GUEST_INFO_FILE), info.content, { mode: 0o644 });
  writeFileSync(
    join(etc, GUEST_AGENT_CONFIG_FILE),
    JSON.stringify({
      ...agent,
      datastore: {
        bindAddress: '127.0.0.1',
        port,
        volumeDir: join(dir, 'data'),
        logDir: join(dir, 'log'),
        runDir: join(dir, 'run'),
      },
    }),
    { mode: 0o600 },
  );
  const { command, args, env } = guestLaunchCommand();
  const log = openSync(join(dir, 'log', 'guest.log'), 'a');
  const guest = spawn(command, [...args, '--config-dir', etc], {
    cwd: dir,
    env: { ...env, PATH: process.env.PATH ?? '/usr/bin:/bin' },
    stdio: ['ignore', log, log],
  });
  return {
    agent,
    port,
    dir,
    process: guest,
    async stop() {
      if (guest.exitCode === null && guest.signalCode === null) {
        const exited = new Promise((resolve) => guest.once('exit', resolve));
        guest.kill('SIGTERM');
        const timer = setTimeout(() => guest.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      // as a VM powered off: nothing of it keeps running (a mariadbd its guest left behind)
      for (const pid of processesMentioning(dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
