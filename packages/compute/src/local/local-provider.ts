import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

import { GUEST_TEMPLATE_DIR_ENV } from '@coffer/contracts/guest-env';

import {
  GUEST_AGENT_CONFIG_FILE,
  GUEST_INFO_FILE,
  GUEST_STANDBY_FLAG,
  guestAgentConfigSchema,
  guestInfoSchema,
  type GuestAgentConfig,
} from '@coffer/contracts';
import { z } from 'zod';

import {
  findProcesses,
  isOurProcess,
  processCwd,
  readPidFile,
  terminateProcess,
  writeFileAtomic,
} from '@coffer/host';

import { parseAllowedSources, privateSources, type AllowedSources } from '../allowed-sources';
import {
  ComputeError,
  DEFAULT_GUEST_RESTART_POLICY,
  silentLogger,
  type ComputeLogger,
  type ComputeProvider,
  type ExtendVolumeOptions,
  type Flavor,
  type GuestRestartPolicy,
  type GuestStreamEndpoint,
  type GuestSupervision,
  type ServerResize,
  type ServerInfo,
  type ServerSpec,
  type ServerStatus,
  type VolumeGrowth,
} from '../provider';
import { createLocalFirewall, type NftFirewall } from './firewall';
import { GUEST_POOL_DIR, GuestPool } from './guest-pool';
import { KeyedMutex } from './keyed-mutex';
import { DEFAULT_PORT_RANGE, overlapWithEphemeralPorts, type PortRange } from './port-allocator';
import { PortClaims } from './port-claims';
import { withStartLock } from './start-lock';
import { localStreamEndpoint } from './stream-endpoint';
import {
  commandInCgroups,
  createInstanceCgroups,
  descendantsOf,
  type CgroupsSetting,
  type InstanceCgroups,
  waitForExec,
} from './cgroups';
import { LocalVolumes, type VolumeSetting } from './volume';
import { VOLUME_POOL_DIR, type VolumePoolSpec } from './volume-pool';

/**
 * The embedded compute provider: a "server" is a directory and a guest process on this
 * machine.
 *
 * ```
 * <dataDir>/instances/<instanceId>/
 *   server.json        what createServer decided (port, run dir...), written last; then what
 *                      resizeServer, extendVolume and setAllowedSources change
 *   etc/               the injected files: guest_info.json, guest-agent.json (0600)
 *   data/              the volume (the guest puts the datadir and my.cnf here)
 *   log/               guest.log (the guest's stdout/stderr), the server's error log
 *   run/               guest.pid; also the guest's run dir (socket, server pid file) when
 *                      its path is short enough for a unix socket, else a short dir in tmp
 * <dataDir>/ports/<port>  one claim file per allocated port, holding the instance id
 * <dataDir>/templates/    the guests' datastore templates (GUEST_TEMPLATE_DIR_ENV; MariaDB's
 *                         pristine datadirs, so a create copies one instead of installing)
 * ```
 *
 * The guest runs detached in its own session, so it outlives the worker that started it;
 * every call re-reads the directory, so a restarted worker adopts what runs.
 *
 * Confinement (issue 13), each where the host allows it (else logged, and the record alone
 * says what was asked): the guest and its database server run in a cgroup with the flavor's
 * CPU and memory as limits (cgroups.ts), `data/` is a filesystem of the volume's size
 * (volume.ts), and only the allowed sources reach the port (firewall.ts).
 */

export interface GuestCommand {
  /** The executable, e.g. `process.execPath`. */
  command: string;
  /** Its arguments, e.g. the guest bundle; `--config-dir <etc>` is appended. */
  args: string[];
  /** The guest's whole environment besides PATH: the worker's own is never passed on. */
  env?: Record<string, string>;
}

export interface LocalComputeProviderOptions {
  dataDir: string;
  guestCommand: GuestCommand;
  /** The address clients use to reach the servers. */
  host?: string;
  /** The address the database servers listen on. */
  bindAddress?: string;
  portRange?: PortRange;
  logger?: ComputeLogger;
  /** How long a guest may take to stop (it stops its database server first) before it is killed. */
  stopTimeoutMs?: number;
  /** How `ensureServerRunning` restarts a guest that died (default: 5 restarts in 10 minutes, 1 s, 2 s, 4 s… apart). */
  guestRestart?: GuestRestartPolicy;
  /** How `data/` is made (volume.ts): a loop-mounted image of the volume's size, a plain directory, or `auto` (loop where the host can). */
  volumes?: VolumeSetting;
  /**
   * Ready volume images kept per size (volume-pool.ts; GiB → count), in `<dataDir>/volume-pool`,
   * with loop volumes only. Default: none (the worker's default is COFFER_LOCAL_VOLUME_POOL's).
   */
  volumePool?: VolumePoolSpec;
  /** How long after the start the pool's first fill waits (default 1 s). */
  volumePoolStartDelayMs?: number;
  /**
   * Standby guests kept started (guest-pool.ts), in `<dataDir>/guest-pool`, once
   * `prepareForCreates` is called (the taskmanager's process). Default: none (the worker's
   * default is COFFER_LOCAL_GUEST_POOL's).
   */
  guestPool?: number;
  /** How long after a create began or ended the guest pool's refills wait (default 1 s). */
  guestPoolQuietMs?: number;
  /** How often the guest pool refills on a machine that stays busy (default 30 s). */
  guestPoolBusyRefillMs?: number;
  /** The nftables table of this data dir's instances (firewall.ts; default `coffer_<hash of dataDir>`). */
  firewallTable?: string;
  /** Flavor limits (cgroups.ts): `auto` (default: where the host allows), `off`, `required`; or groups of a test's own. */
  cgroups?: CgroupsSetting | InstanceCgroups;
  /** Whether guests get `<dataDir>/templates` for their datastore templates (default true). */
  guestTemplates?: boolean;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Longest run dir we hand out: a unix socket path (run dir + "/mysqld.sock") must fit in 107 bytes. */
export const MAX_RUN_DIR_BYTES = 80;
const GUEST_PID_FILE = 'guest.pid';
/** The guest's stdout and stderr, in the instance's log dir. */
const GUEST_LOG_FILE = 'guest.log';
/** Held (start-lock.ts) while a worker checks for the guest and starts one. */
const GUEST_START_LOCK_FILE = 'guest.starting';
/** How long a worker waits for another that is starting the same guest (a start takes well under this). */
const START_LOCK_TIMEOUT_MS = 120_000;
const SERVER_RECORD_FILE = 'server.json';
/** When the guest was restarted after dying (ms since the epoch), and whether the provider gave up. */
const GUEST_RESTARTS_FILE = 'guest-restarts.json';
/** Written first by deleteServer: nothing may start this instance's guest again. */
const DELETING_MARKER = 'deleting';

const restartHistorySchema = z.object({
  restarts: z.array(z.number()),
  gaveUpAt: z.number().nullable(),
});
type RestartHistory = z.infer<typeof restartHistorySchema>;

const instanceIdSchema = z.uuid();

const serverRecordSchema = z.object({
  serverId: z.string(),
  instanceId: z.uuid(),
  projectId: z.uuid(),
  host: z.string(),
  port: z.number().int(),
  runDir: z.string(),
  flavor: z.object({ vcpus: z.number(), ramMb: z.number() }),
  volumeGb: z.number(),
  /** Absent in records written before sources were recorded: private. */
  allowedSources: z
    .object({ isPublic: z.boolean(), cidrs: z.array(z.string()) })
    .default(privateSources),
  createdAt: z.string(),
  /** When resizeServer, extendVolume or setAllowedSources last changed the record. */
  updatedAt: z.string().optional(),
});
type ServerRecord = z.infer<typeof serverRecordSchema>;

interface InstancePaths {
  root: string;
  etc: string;
  data: string;
  log: string;
  run: string;
  record: string;
  guestPid: string;
  restarts: string;
  deleting: string;
}

export class LocalComputeProvider implements ComputeProvider {
  readonly name = 'local';
  private readonly dataDir: string;
  private readonly guestCommand: GuestCommand;
  private readonly host: string;
  private readonly bindAddress: string;
  private readonly portRange: PortRange;
  private readonly logger: ComputeLogger;
  private readonly stopTimeoutMs: number;
  private readonly guestRestart: GuestRestartPolicy;
  /** What every guest's environment holds besides the guest command's own. */
  private readonly guestEnv: Record<string, string>;
  private readonly locks = new KeyedMutex();
  private readonly ports: PortClaims;
  private readonly volumes: LocalVolumes;
  /** Enforces allowed sources (firewall.ts); null when the servers listen on loopback (no rules needed). */
  private readonly firewall: NftFirewall | null;
  /** Each instance's cgroup, sized from its flavor (cgroups.ts). */
  readonly cgroups: InstanceCgroups;
  /** Where standby guests wait (guest-pool.ts): known here whether or not this process keeps a pool. */
  private readonly guestPoolDir: string;
  /** This process's standby guests, started by `prepareForCreates`; null when it keeps none. */
  readonly guestPool: GuestPool | null;

  constructor(options: LocalComputeProviderOptions) {
    this.dataDir = resolve(options.dataDir);
    this.guestCommand = options.guestCommand;
    this.host = options.host ?? '127.0.0.1';
    this.bindAddress = options.bindAddress ?? '127.0.0.1';
    this.portRange = options.portRange ?? DEFAULT_PORT_RANGE;
    this.logger = options.logger ?? silentLogger;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 60_000;
    this.guestRestart = options.guestRestart ?? DEFAULT_GUEST_RESTART_POLICY;
    this.guestEnv = {
      PATH: DEFAULT_PATH,
      ...(options.guestTemplates === false
        ? {}
        : { [GUEST_TEMPLATE_DIR_ENV]: join(this.dataDir, 'templates') }),
    };
    this.ports = new PortClaims(join(this.dataDir, 'ports'), this.portRange, this.bindAddress);
    this.guestPoolDir = join(this.dataDir, GUEST_POOL_DIR);
    this.guestPool = options.guestPool
      ? new GuestPool({
          dir: this.guestPoolDir,
          size: options.guestPool,
          command: this.guestCommand.command,
          args: this.guestCommand.args,
          env: { ...this.guestEnv, ...this.guestCommand.env },
          logger: this.logger,
          quietMs: options.guestPoolQuietMs,
          busyRefillMs: options.guestPoolBusyRefillMs,
        })
      : null;
    this.volumes = new LocalVolumes(options.volumes ?? 'auto', this.logger, {
      pool: options.volumePool && {
        dir: join(this.dataDir, VOLUME_POOL_DIR),
        spec: options.volumePool,
        startDelayMs: options.volumePoolStartDelayMs,
      },
    });
    this.firewall = createLocalFirewall({
      dataDir: this.dataDir,
      table: options.firewallTable,
      bindAddress: this.bindAddress,
      logger: this.logger,
    });
    // After a boot (or anything that flushed the table): every server's rules again.
    this.firewall?.restore(this.firewallEntries());
    this.cgroups =
      typeof options.cgroups === 'object'
        ? options.cgroups
        : createInstanceCgroups({ setting: options.cgroups, logger: this.logger });
    const overlap = overlapWithEphemeralPorts(this.portRange);
    if (overlap) {
      this.logger.warn(
        { portRange: this.portRange, ephemeral: overlap },
        `instance ports ${overlap.min}-${overlap.max} lie in this machine's ephemeral port range (net.ipv4.ip_local_port_range): a server there may find its port taken by an outgoing connection; choose a range below it`,
      );
    }
  }

  /** Starts this process's warm pool of standby guests (the taskmanager's: it creates servers). */
  prepareForCreates(): void {
    this.guestPool?.start();
  }

  /** Stops this process's standby guests and the volume pool's refills (instances keep running). */
  async close(): Promise<void> {
    this.volumes.pool?.stop();
    await this.guestPool?.stop();
  }

  async createServer(spec: ServerSpec): Promise<ServerInfo> {
    // Refills of the guest pool wait while creates are under way.
    const createEnds = this.guestPool?.createBegins();
    try {
      return await this.createServerNow(spec);
    } finally {
      createEnds?.();
    }
  }

  private async createServerNow(spec: ServerSpec): Promise<ServerInfo> {
    const instanceId = parseInstanceId(spec.instanceId);
    const guestInfo = parseOrInvalid(guestInfoSchema, spec.guestInfo, 'guestInfo');
    if (guestInfo.instanceId !== instanceId) {
      throw new ComputeError(
        'INVALID',
        'guestInfo.instanceId does not match the instance being created',
      );
    }
    const flavor = parseFlavor(spec.flavor);
    const volumeGb = parseVolumeGb(spec.volumeGb);
    const allowedSources = parseAllowedSources(spec.allowedSources ?? privateSources());
    return this.locks.run(instanceId, async () => {
      const paths = this.pathsOf(instanceId);
      const existing = this.readRecord(paths);
      if (existing) {
        if (!this.isGuestRunning(paths)) {
          this.logger.info(
            { instanceId },
            'server exists but its guest is not running: starting it',
          );
          rmSync(paths.restarts, { force: true });
          this.firewall?.apply(existing);
          await this.startGuest(paths);
        } else this.confineRunningGuest(paths, existing.flavor);
        return this.infoOf(existing, paths);
      }

      const started = Date.now();
      const steps: Record<string, number> = {};
      let stepStarted = started;
      const step = (name: string) => {
        const at = Date.now();
        steps[name] = at - stepStarted;
        stepStarted = at;
      };
      mkdirSync(paths.root, { recursive: true });
      mkdirSync(paths.etc, { recursive: true, mode: 0o700 });
      for (const dir of [paths.data, paths.log, paths.run]) mkdirSync(dir, { recursive: true });
      const port = await this.ports.claim(instanceId, spec.port);
      const runDir = this.runDirFor(paths);
      mkdirSync(runDir, { recursive: true });

      const agentConfig: GuestAgentConfig = parseOrInvalid(
        guestAgentConfigSchema,
        {
          ...spec.agentConfig,
          datastore: {
            bindAddress: this.bindAddress,
            port,
            volumeDir: paths.data,
            logDir: paths.log,
            runDir,
          },
        } satisfies z.input<typeof guestAgentConfigSchema>,
        'agentConfig',
      );
      writeFileAtomic(
        join(paths.etc, GUEST_INFO_FILE),
        `${JSON.stringify(guestInfo, null, 2)}\n`,
        0o644,
      );
      writeFileAtomic(
        join(paths.etc, GUEST_AGENT_CONFIG_FILE),
        `${JSON.stringify(agentConfig, null, 2)}\n`,
        0o600,
      );
      step('filesMs');

      // The volume once the spec is known good (an INVALID spec leaves no mount behind).
      await this.volumes.create(paths.root, paths.data, volumeGb).catch((error: unknown) => {
        this.ports.release(instanceId);
        throw error;
      });
      step('volumeMs');
      const record: ServerRecord = {
        serverId: instanceId,
        instanceId,
        projectId: spec.projectId,
        host: this.host,
        port,
        runDir,
        flavor,
        volumeGb,
        allowedSources,
        createdAt: new Date().toISOString(),
      };
      writeFileAtomic(
        paths.record,
        `${JSON.stringify(serverRecordSchema.parse(record), null, 2)}\n`,
      );
      // The port is closed to all but the allowed sources before anything listens on it.
      this.firewall?.apply(record);
      step('firewallMs');
      const standby = await this.startGuestFromPool(paths, record);
      if (!standby) await this.startGuest(paths);
      step('guestMs');
      this.logger.info(
        {
          instanceId,
          port,
          root: paths.root,
          ms: Date.now() - started,
          ...steps,
          guest: standby ? 'standby' : 'started',
        },
        'server created',
      );
      return this.infoOf(record, paths);
    });
  }

  async getServer(serverId: string): Promise<ServerInfo | null> {
    const instanceId = instanceIdSchema.safeParse(serverId);
    if (!instanceId.success) return null;
    const paths = this.pathsOf(instanceId.data);
    const record = this.readRecord(paths);
    return record ? this.infoOf(record, paths) : null;
  }

  async guestStreamEndpoint(serverId: string): Promise<GuestStreamEndpoint | null> {
    return localStreamEndpoint(await this.getServer(serverId));
  }

  async rebootServer(serverId: string): Promise<void> {
    const instanceId = parseInstanceId(serverId);
    await this.locks.run(instanceId, async () => {
      const paths = this.pathsOf(instanceId);
      if (!this.readRecord(paths)) throw new ComputeError('NOT_FOUND', `no server ${serverId}`);
      await this.stopGuest(paths);
      // Asked for: a fresh restart budget (and supervision again after a crash loop).
      rmSync(paths.restarts, { force: true });
      await this.startGuest(paths);
      this.logger.info({ instanceId }, 'server rebooted');
    });
  }

  async deleteServer(serverId: string): Promise<void> {
    const instanceId = parseInstanceId(serverId);
    await this.locks.run(instanceId, async () => {
      const paths = this.pathsOf(instanceId);
      const record = this.readRecord(paths);
      const runDir = record?.runDir ?? this.runDirFor(paths);
      if (existsSync(paths.root)) {
        // First: no supervisor (this process's or another's) starts the guest again from now on.
        writeFileSync(paths.deleting, `${new Date().toISOString()}\n`);
        // The guest stops its database server cleanly when asked to stop.
        await this.stopGuest(paths);
        // Whatever still names this instance's files (a server the guest could not stop, a
        // guest whose pid file was lost) is stopped too, then killed after the bound.
        const referencesInstance = (args: string[]) =>
          args.some(
            (arg) =>
              arg.includes(`${paths.root}/`) || arg === paths.root || arg.includes(`${runDir}/`),
          );
        const leftovers = findProcesses(referencesInstance);
        await Promise.all(
          leftovers.map(async (pid) => {
            const outcome = await terminateProcess(pid, referencesInstance, {
              timeoutMs: this.stopTimeoutMs,
            });
            this.logger.warn(
              { instanceId, pid, outcome },
              'stopped a process left behind by the instance',
            );
          }),
        );
      }
      // The guest has stopped: its group goes, killing whatever was left in it (before the
      // volume is unmounted).
      await this.cgroups.remove(instanceId);
      // Once nothing listens on the port any more: its rules go (a new server may get the port).
      this.firewall?.remove(instanceId);
      await this.volumes.remove(paths.root, paths.data);
      rmSync(paths.root, { recursive: true, force: true });
      if (runDir !== paths.run) rmSync(runDir, { recursive: true, force: true });
      this.ports.release(instanceId);
      this.logger.info({ instanceId }, 'server deleted');
    });
  }

  /**
   * Records the new flavor in server.json (`ServerInfo.flavor` reports it from then on) and
   * changes the instance's cgroup limits in place (cgroups.ts): more CPU or memory at once,
   * with no restart. Less memory than the guest and its database server use now (anonymous
   * memory; cache is reclaimed) cannot be had in place: the provider then stops the guest
   * (which stops its server cleanly), sets the limits and starts it again, inside them.
   * The database's own sizing (my.cnf's buffer pool) is the guest's, told by the taskmanager:
   * for a smaller flavor, having the guest restart with the smaller my.cnf first makes the
   * provider's restart unneeded. Idempotent: the same flavor again sets the same limits.
   */
  async resizeServer(serverId: string, flavor: Flavor): Promise<ServerResize> {
    const parsed = parseFlavor(flavor);
    await this.updateRecord(serverId, (record) => ({ ...record, flavor: parsed }));
    return this.applyFlavorLimits(parseInstanceId(serverId));
  }

  /**
   * Grows the volume (volume.ts: the image, then its ext4 filesystem, online where the host
   * allows, else during a short stop of the guest), then records the size in server.json;
   * `ServerInfo.volumeGb` reports it from then on. Idempotent: the same size again is a no-op
   * (a grow interrupted half-way is finished); smaller is `INVALID`. In directory mode only
   * the record changes.
   */
  async extendVolume(
    serverId: string,
    volumeGb: number,
    options: ExtendVolumeOptions = {},
  ): Promise<VolumeGrowth> {
    const size = parseVolumeGb(volumeGb);
    const instanceId = parseInstanceId(serverId);
    let growth: VolumeGrowth = 'unchanged';
    await this.locks.run(instanceId, async () => {
      const paths = this.pathsOf(instanceId);
      const record = this.readRecord(paths);
      if (!record || existsSync(paths.deleting)) return; // updateRecord says NOT_FOUND
      if (size < record.volumeGb) return; // updateRecord says INVALID
      let stopped: 'offline' | 'restarted' = 'restarted';
      const how = await this.volumes.grow(paths.root, paths.data, size, async (work) => {
        // The caller stops the database server (the guest keeps no file open on the volume).
        const { whileOffline } = options;
        if (whileOffline && this.isGuestRunning(paths)) {
          stopped = 'offline';
          return whileOffline(work);
        }
        const wasRunning = this.isGuestRunning(paths);
        await this.stopGuest(paths);
        try {
          await work();
        } finally {
          if (wasRunning) await this.startGuest(paths);
        }
      });
      growth = how === 'offline' ? stopped : how;
    });
    await this.updateRecord(serverId, (record) => {
      if (size < record.volumeGb) {
        throw new ComputeError(
          'INVALID',
          `a volume only grows: ${record.volumeGb} GB cannot become ${size} GB`,
        );
      }
      return { ...record, volumeGb: size };
    });
    return growth;
  }

  /**
   * Checks the sources (`INVALID` changes nothing), replaces the instance's nftables rules in
   * one transaction (firewall.ts) and records them in server.json; `ServerInfo.allowedSources`
   * reports them from then on. Where nft is unusable and the servers listen on loopback only,
   * they are recorded only (firewall.ts, createLocalFirewall).
   */
  async setAllowedSources(serverId: string, sources: AllowedSources): Promise<void> {
    const parsed = parseAllowedSources(sources);
    await this.updateRecord(serverId, (record) => {
      // One nft transaction replaces the rules; the record changes only once they hold.
      this.firewall?.apply({ ...record, allowedSources: parsed });
      return { ...record, allowedSources: parsed };
    });
  }

  /** Rewrites the server's record under its lock; `NOT_FOUND` when there is none, or it is being deleted. */
  private async updateRecord(
    serverId: string,
    change: (record: ServerRecord) => ServerRecord,
  ): Promise<void> {
    const instanceId = parseInstanceId(serverId);
    await this.locks.run(instanceId, async () => {
      const paths = this.pathsOf(instanceId);
      const record = this.readRecord(paths);
      if (!record || existsSync(paths.deleting)) {
        throw new ComputeError('NOT_FOUND', `no server ${serverId}`);
      }
      const changed = serverRecordSchema.parse({
        ...change(record),
        updatedAt: new Date().toISOString(),
      });
      writeFileAtomic(paths.record, `${JSON.stringify(changed, null, 2)}\n`);
      this.logger.info(
        {
          instanceId,
          flavor: changed.flavor,
          volumeGb: changed.volumeGb,
          allowedSources: changed.allowedSources,
        },
        'server record changed',
      );
    });
  }

  async listServers(): Promise<ServerInfo[]> {
    const instancesDir = join(this.dataDir, 'instances');
    if (!existsSync(instancesDir)) return [];
    const servers: ServerInfo[] = [];
    for (const entry of readdirSync(instancesDir)) {
      if (!instanceIdSchema.safeParse(entry).success) continue;
      const paths = this.pathsOf(entry);
      const record = this.readRecord(paths);
      if (record) servers.push(this.infoOf(record, paths));
    }
    return servers;
  }

  async ensureServerRunning(serverId: string): Promise<GuestSupervision> {
    const parsed = instanceIdSchema.safeParse(serverId);
    if (!parsed.success) return { state: 'missing' };
    const instanceId = parsed.data;
    return this.locks.run(instanceId, async () => {
      const paths = this.pathsOf(instanceId);
      if (!this.readRecord(paths) || existsSync(paths.deleting)) return { state: 'missing' };
      if (this.isGuestRunning(paths)) return { state: 'running' };
      const policy = this.guestRestart;
      const now = Date.now();
      const history = this.readRestartHistory(paths);
      const recent = history.restarts.filter((at) => now - at < policy.windowMs);
      if (history.gaveUpAt !== null)
        return { state: 'given-up', restarts: recent.length, isNew: false };
      if (recent.length >= policy.maxRestarts) {
        this.writeRestartHistory(paths, { restarts: recent, gaveUpAt: now });
        this.logger.error(
          { instanceId, restarts: recent.length, windowMs: policy.windowMs },
          'the guest keeps dying: it is not started again until the server is rebooted',
        );
        return { state: 'given-up', restarts: recent.length, isNew: true };
      }
      const last = recent.at(-1);
      if (last !== undefined) {
        const delayMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (recent.length - 1));
        if (now < last + delayMs) return { state: 'waiting', retryAt: new Date(last + delayMs) };
      }
      recent.push(now);
      this.writeRestartHistory(paths, { restarts: recent, gaveUpAt: null });
      this.logger.warn(
        { instanceId, restart: recent.length },
        'the guest died without being asked to stop: starting it again',
      );
      await this.startGuest(paths);
      // A delete in another process may have begun meanwhile (its marker is written before it
      // stops the guests): then the guest just started must not outlive it.
      if (!this.readRecord(paths) || existsSync(paths.deleting)) {
        await this.stopGuest(paths);
        return { state: 'missing' };
      }
      return { state: 'restarted', restarts: recent.length };
    });
  }

  private readRestartHistory(paths: InstancePaths): RestartHistory {
    try {
      return restartHistorySchema.parse(JSON.parse(readFileSync(paths.restarts, 'utf8')));
    } catch {
      return { restarts: [], gaveUpAt: null };
    }
  }

  private writeRestartHistory(paths: InstancePaths, history: RestartHistory): void {
    writeFileAtomic(paths.restarts, `${JSON.stringify(history)}\n`);
  }

  /** The nftables table enforcing allowed sources, or null when there is none (firewall.ts). */
  firewallTable(): string | null {
    return this.firewall?.table ?? null;
  }

  /** What the firewall needs of every server on disk, for restore. */
  private firewallEntries(): ServerRecord[] {
    const instancesDir = join(this.dataDir, 'instances');
    if (!existsSync(instancesDir)) return [];
    return readdirSync(instancesDir)
      .filter((entry) => instanceIdSchema.safeParse(entry).success)
      .map((entry) => this.readRecord(this.pathsOf(entry)))
      .filter((record): record is ServerRecord => record !== null);
  }

  /** The instance's directory; for operators and tests (logs, files). */
  instanceDir(instanceId: string): string {
    return this.pathsOf(parseInstanceId(instanceId)).root;
  }

  /** The pid of the instance's running guest, or null. */
  guestPid(instanceId: string): number | null {
    return this.findGuest(this.pathsOf(parseInstanceId(instanceId)));
  }

  private pathsOf(instanceId: string): InstancePaths {
    const root = join(this.dataDir, 'instances', instanceId);
    return {
      root,
      etc: join(root, 'etc'),
      data: join(root, 'data'),
      log: join(root, 'log'),
      run: join(root, 'run'),
      record: join(root, SERVER_RECORD_FILE),
      guestPid: join(root, 'run', GUEST_PID_FILE),
      restarts: join(root, GUEST_RESTARTS_FILE),
      deleting: join(root, DELETING_MARKER),
    };
  }

  /** `run/` when a socket fits under it, else a short directory in tmp named by a hash of the instance dir. */
  private runDirFor(paths: InstancePaths): string {
    if (Buffer.byteLength(paths.run) <= MAX_RUN_DIR_BYTES) return paths.run;
    const hash = createHash('sha256').update(paths.root).digest('hex').slice(0, 16);
    return join(tmpdir(), `coffer-${hash}`);
  }

  private readRecord(paths: InstancePaths): ServerRecord | null {
    try {
      return serverRecordSchema.parse(JSON.parse(readFileSync(paths.record, 'utf8')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.logger.error({ err: error, path: paths.record }, 'unreadable server record');
      }
      return null;
    }
  }

  private infoOf(record: ServerRecord, paths: InstancePaths): ServerInfo {
    let status: ServerStatus;
    if (
      !existsSync(join(paths.etc, GUEST_AGENT_CONFIG_FILE)) ||
      !existsSync(join(paths.etc, GUEST_INFO_FILE))
    ) {
      status = 'ERROR';
    } else {
      status = this.isGuestRunning(paths) ? 'ACTIVE' : 'SHUTOFF';
    }
    return {
      serverId: record.serverId,
      instanceId: record.instanceId,
      host: record.host,
      port: record.port,
      status,
      flavor: record.flavor,
      volumeGb: record.volumeGb,
      allowedSources: record.allowedSources,
    };
  }

  /**
   * A guest is this instance's when its command line carries this instance's config dir, or
   * when it was a standby of this data dir's guest pool (guest-pool.ts) and its working
   * directory is the instance's root (where an assigned standby moves).
   */
  private isGuestOf(paths: InstancePaths): (args: string[], pid: number) => boolean {
    return (args, pid) =>
      args.includes(paths.etc) ||
      (args.includes(GUEST_STANDBY_FLAG) &&
        args.includes(this.guestPoolDir) &&
        processCwd(pid) === paths.root);
  }

  private isGuestRunning(paths: InstancePaths): boolean {
    return this.findGuest(paths) !== null;
  }

  /**
   * The instance's running guest: the one in the pid file, or else one found by its command
   * line (a worker that died between spawning a guest and writing its pid file leaves such a
   * guest behind), which is then adopted: its pid is recorded, so no second guest is started
   * beside it. Should there be more than one, the others are stopped.
   */
  private findGuest(paths: InstancePaths): number | null {
    const isGuest = this.isGuestOf(paths);
    const recorded = readPidFile(paths.guestPid);
    if (recorded !== null && isOurProcess(recorded, isGuest)) return recorded;
    const [adopted, ...extra] = findProcesses(isGuest);
    if (adopted === undefined) return null;
    writeFileSync(paths.guestPid, `${adopted}\n`);
    this.logger.warn(
      { root: paths.root, pid: adopted },
      'adopted a running guest whose pid was not recorded',
    );
    for (const pid of extra) {
      this.logger.warn({ root: paths.root, pid }, 'stopping a second guest of the same instance');
      terminateProcess(pid, isGuest, { timeoutMs: this.stopTimeoutMs }).catch(() => undefined);
    }
    return adopted;
  }

  /**
   * A new server's guest from the warm pool (guest-pool.ts): a standby moved into the
   * instance's cgroup, its log renamed to the instance's `guest.log`, then assigned. False when
   * there is no pool, no standby ready, a log of an earlier try to keep, or the standby could
   * not be assigned (it is then killed): the caller starts a guest the usual way.
   */
  private async startGuestFromPool(paths: InstancePaths, record: ServerRecord): Promise<boolean> {
    const pool = this.guestPool;
    const guestLog = join(paths.log, GUEST_LOG_FILE);
    if (!pool || existsSync(guestLog)) return false;
    const standby = pool.take();
    if (!standby) return false;
    return withStartLock(
      join(dirname(paths.guestPid), GUEST_START_LOCK_FILE),
      async () => {
        try {
          if (this.findGuest(paths) !== null) throw new Error('a guest runs already');
          this.cgroups.prepare(record.instanceId, record.flavor);
          this.cgroups.join(record.instanceId, [standby.pid]);
          renameSync(standby.logPath, guestLog);
          await pool.assign(standby, { configDir: paths.etc, root: paths.root });
        } catch (error) {
          this.logger.warn(
            { root: paths.root, pid: standby.pid, err: (error as Error).message },
            'could not start the guest from the warm pool: starting one',
          );
          await pool.discard(standby);
          return false;
        }
        writeFileSync(paths.guestPid, `${standby.pid}\n`);
        this.logger.info({ root: paths.root, pid: standby.pid }, 'guest started (a standby)');
        return true;
      },
      { timeoutMs: START_LOCK_TIMEOUT_MS },
    );
  }

  /** Starts the instance's guest unless one runs; never beside another worker doing the same (start-lock.ts). */
  private startGuest(paths: InstancePaths): Promise<void> {
    return withStartLock(
      join(dirname(paths.guestPid), GUEST_START_LOCK_FILE),
      () => this.startGuestLocked(paths),
      { timeoutMs: START_LOCK_TIMEOUT_MS },
    );
  }

  private async startGuestLocked(paths: InstancePaths): Promise<void> {
    // One guest per instance, whoever else (another worker's supervisor) started one meanwhile.
    const running = this.findGuest(paths);
    if (running !== null) {
      this.logger.info(
        { root: paths.root, pid: running },
        'the guest already runs: not starting another',
      );
      return;
    }
    // The volume first (a worker restart or host reboot leaves the image unmounted).
    await this.volumes.ensureMounted(paths.root, paths.data);
    const { command, args, env } = this.guestCommand;
    const started = this.inCgroup(paths, command, [...args, '--config-dir', paths.etc]);
    const output = openSync(join(paths.log, GUEST_LOG_FILE), 'a', 0o640);
    try {
      const child = spawn(started.command, started.args, {
        cwd: paths.root,
        detached: true,
        stdio: ['ignore', output, output],
        // A typed cast: some consumers' global types (Next's) make NODE_ENV required in ProcessEnv.
        env: { ...this.guestEnv, ...env } as unknown as NodeJS.ProcessEnv,
      });
      await new Promise<void>((resolveSpawn, rejectSpawn) => {
        child.once('spawn', resolveSpawn);
        child.once('error', (error) =>
          rejectSpawn(
            new ComputeError('UNAVAILABLE', `could not start the guest: ${error.message}`, {
              cause: error,
            }),
          ),
        );
      });
      writeFileSync(paths.guestPid, `${child.pid}\n`);
      child.unref();
      // It joined its group itself before running anything; should that have failed, now.
      if (started.command !== command && child.pid !== undefined) {
        await waitForExec(child.pid);
        this.cgroups.join(basename(paths.root), [child.pid]);
      }
      this.logger.info({ root: paths.root, pid: child.pid }, 'guest started');
    } finally {
      closeSync(output);
    }
  }

  /** The guest's command, run inside the instance's cgroup, made or re-sized from the recorded flavor. */
  private inCgroup(
    paths: InstancePaths,
    command: string,
    args: string[],
  ): { command: string; args: string[] } {
    const record = this.readRecord(paths);
    if (!record) return { command, args };
    return commandInCgroups(this.cgroups.prepare(record.instanceId, record.flavor), command, args);
  }

  /** A guest that runs outside its group (started before the provider confined): moved in with its children. */
  private confineRunningGuest(paths: InstancePaths, flavor: Flavor): void {
    const pid = this.findGuest(paths);
    const instanceId = basename(paths.root);
    if (pid === null || this.cgroups.version === null) return;
    this.cgroups.prepare(instanceId, flavor);
    const inside = new Set(this.cgroups.pids(instanceId));
    const outside = [pid, ...descendantsOf(pid)].filter((each) => !inside.has(each));
    if (outside.length === 0) return;
    this.cgroups.join(instanceId, outside);
    this.logger.info({ instanceId, pids: outside }, 'moved a running guest into its cgroup');
  }

  /** resizeServer's limits, from the record (so the last of two resizes wins), restarting the guest when memory must shrink below its use. */
  private async applyFlavorLimits(instanceId: string): Promise<ServerResize> {
    return this.locks.run(instanceId, async (): Promise<ServerResize> => {
      const paths = this.pathsOf(instanceId);
      const record = this.readRecord(paths);
      if (!record || existsSync(paths.deleting)) return 'in-place';
      const outcome = this.cgroups.resize(instanceId, record.flavor);
      if (outcome === 'absent') this.confineRunningGuest(paths, record.flavor);
      if (outcome !== 'needs-restart') return 'in-place';
      const wasRunning = this.isGuestRunning(paths);
      this.logger.warn(
        { instanceId, flavor: record.flavor },
        'the server uses more memory than its new flavor allows: restarting it inside the new limits',
      );
      await this.stopGuest(paths);
      if ((await this.cgroups.resizeStopped(instanceId, record.flavor)) !== 'applied') {
        this.logger.error(
          { instanceId },
          'the new memory limit could not be set: the old one stays',
        );
      }
      if (wasRunning) await this.startGuest(paths);
      return 'restarted';
    });
  }

  /** Stops every guest of the instance (the recorded one, and any whose pid was lost). */
  private async stopGuest(paths: InstancePaths): Promise<void> {
    const isGuest = this.isGuestOf(paths);
    await Promise.all(
      findProcesses(isGuest).map(async (pid) => {
        const outcome = await terminateProcess(pid, isGuest, { timeoutMs: this.stopTimeoutMs });
        if (outcome === 'killed') {
          this.logger.warn(
            { root: paths.root, pid },
            'the guest did not stop in time and was killed',
          );
        }
      }),
    );
    rmSync(paths.guestPid, { force: true });
  }
}

function parseInstanceId(value: string): string {
  const parsed = instanceIdSchema.safeParse(value);
  if (!parsed.success)
    throw new ComputeError('INVALID', `not an instance id: ${JSON.stringify(value)}`);
  return parsed.data;
}

function parseOrInvalid<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ComputeError('INVALID', `${what} is not valid: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

const flavorSchema = z.object({ vcpus: z.int().positive(), ramMb: z.int().positive() });

function parseFlavor(flavor: Flavor): Flavor {
  const { vcpus, ramMb } = parseOrInvalid(flavorSchema, flavor, 'the flavor');
  return { vcpus, ramMb };
}

function parseVolumeGb(volumeGb: number): number {
  if (!Number.isInteger(volumeGb) || volumeGb < 1) {
    throw new ComputeError('INVALID', `a volume is a whole number of GB, not ${volumeGb}`);
  }
  return volumeGb;
}
