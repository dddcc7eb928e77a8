import {
  ComputeError,
  parseAllowedSources,
  privateSources,
  silentLogger,
  type AllowedSources,
  type ComputeErrorCode,
  type ComputeLogger,
  type ComputeProvider,
  type ExtendVolumeOptions,
  type Flavor,
  type GuestSupervision,
  type GuestStreamEndpoint,
  type ServerInfo,
  type ServerResize,
  type ServerSpec,
  type ServerStatus,
  type VolumeGrowth,
} from '@coffer/compute';
import { guestAgentConfigSchema, guestInfoSchema, type GuestInfo } from '@coffer/contracts';
import {
  OpenStackError,
  OpenStackWaitError,
  createPort,
  createSecurityGroup,
  createSecurityGroupRule,
  createServer,
  createVolume,
  deleteAttachment,
  deletePort,
  deleteSecurityGroup,
  deleteSecurityGroupRule,
  deleteServer,
  deleteVolume,
  extendVolume,
  findFlavor,
  getServer as getNovaServer,
  getVolume,
  listAttachmentsOfVolume,
  isOpenStackError,
  listImages,
  listNetworks,
  listPorts,
  listSecurityGroups,
  listServers,
  listVolumes,
  rebootServer,
  resizeServerAndConfirm,
  setPortSecurityGroups,
  setServerMetadata,
  setTags,
  startServer,
  waitForServer,
  waitForServerDeleted,
  waitForVolume,
  waitForVolumeDeleted,
  type OpenStackSession,
  type Port,
  type SecurityGroup,
  type SecurityGroupRule,
  type Server,
  type Volume,
} from '@coffer/openstack';
import { z } from 'zod';

import { guestFiles, MAX_USER_DATA_BYTES, userDataFor } from './injection';
import {
  RULE_GUEST_STREAM,
  ruleChanges,
  sourcesOfRules,
  streamRuleChanges,
  wantedRules,
} from './rules';

/**
 * Coffer's servers on OpenStack, as Trove's taskmanager makes them: per instance one Nova
 * server (the guest image, a port on the configured network), one Cinder volume of the
 * instance's size attached at boot (the datadir's), one security group `SecGroup-<instanceId>`
 * whose rules open the database port to the allowed sources and the control plane (and the
 * guest's direct-stream port to the deployment's guests, members of the group
 * `coffer-guests`), and the guest's two files in the user data on a config drive. Everything
 * carries the tag `coffer-instance-<instanceId>` (the volume: metadata `coffer-instance`),
 * which is how every call finds it: the server id callers get is the instance id, so a
 * create, a delete or a reconciliation run again after a crash finds what an earlier run left.
 */

export const TAG = 'coffer';
export const instanceTag = (instanceId: string) => `coffer-instance-${instanceId}`;
export const securityGroupName = (instanceId: string) => `SecGroup-${instanceId}`;
/**
 * The deployment's guests: every guest's port is in this group (besides its own), and each
 * instance's group lets the group's members reach its guest's stream port. It has no rules of
 * its own, and stays when instances go.
 */
export const GUESTS_GROUP = 'coffer-guests';

/** The guests group in use, and any duplicate of it (another group of that name). */
export interface GuestsGroups {
  id: string;
  duplicates: string[];
}

/**
 * Which of the groups named `coffer-guests` is the one: the oldest (Neutron's `created_at`,
 * then the id). Two creates making it at once: the later one's maker always sees the earlier
 * group and gives way, while the earlier one's maker, seeing only its own, keeps it; the
 * smallest id instead could have each keep its own. A tie (the same second) or a group seen
 * late leaves a duplicate, which `guestStreamEndpoint` merges into the one.
 */
export function chooseGuestsGroup(
  groups: readonly Pick<SecurityGroup, 'id' | 'createdAt'>[],
): GuestsGroups | null {
  const sorted = [...groups].sort(
    (a, b) =>
      (a.createdAt ?? '').localeCompare(b.createdAt ?? '') ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const [first, ...rest] = sorted;
  return first ? { id: first.id, duplicates: unique(rest).map((g) => g.id) } : null;
}

/**
 * A port's security groups with the guests group in and its duplicates out; null when they
 * already are (a port made before the stream port, or in a duplicate, is brought up to date).
 */
export function portGroupsWithGuests(
  securityGroupIds: readonly string[],
  guests: GuestsGroups,
): string[] | null {
  const kept = securityGroupIds.filter((id) => !guests.duplicates.includes(id));
  if (kept.includes(guests.id) && kept.length === securityGroupIds.length) return null;
  return kept.includes(guests.id) ? kept : [...kept, guests.id];
}
/** How long a volume may stay attached after its server is gone before Coffer detaches it. */
const ORPHANED_ATTACHMENT_GRACE_MS = 15_000;
const META_INSTANCE = 'coffer-instance';
const META_PROJECT = 'coffer-project';
const META_PUBLIC = 'coffer-public';
const META_PORT = 'coffer-port';
const META_FLAVOR = 'coffer-flavor';
const META_VOLUME = 'coffer-volume';

/** Where the guest image mounts the volume and keeps its logs and runtime files. */
export const GUEST_PATHS = {
  volumeDir: '/var/lib/coffer/data',
  logDir: '/var/log/coffer',
  runDir: '/run/coffer',
} as const;

export interface OpenStackComputeProviderOptions {
  session: OpenStackSession;
  /** The guest image in Glance, by name or id. */
  image: string;
  /** The servers' network, by name or id. */
  network: string;
  volumeType?: string;
  controlPlaneCidrs?: readonly string[];
  databasePort?: number;
  /** The guests' direct-stream port (issue 18); null or absent: no direct stream. */
  streamPort?: number | null;
  /** How long one operation may wait for OpenStack (default 10 min). */
  timeoutMs?: number;
  logger?: ComputeLogger;
}

const instanceIdSchema = z.uuid();

function parseInstanceId(serverId: string): string {
  const parsed = instanceIdSchema.safeParse(serverId);
  if (!parsed.success) throw new ComputeError('INVALID', `not an instance id: ${serverId}`);
  return parsed.data;
}

const flavorSchema = z.object({
  vcpus: z.number().int().positive(),
  ramMb: z.number().int().positive(),
});

function parseFlavor(flavor: Flavor): Flavor {
  const parsed = flavorSchema.safeParse(flavor);
  if (!parsed.success)
    throw new ComputeError(
      'INVALID',
      `a flavor is positive whole vCPUs and MB: ${JSON.stringify(flavor)}`,
    );
  return parsed.data;
}

const flavorText = (flavor: Flavor) => `${flavor.vcpus}x${flavor.ramMb}`;

function flavorOfText(text: string | undefined): Flavor | undefined {
  const match = /^(\d+)x(\d+)$/.exec(text ?? '');
  return match ? { vcpus: Number(match[1]), ramMb: Number(match[2]) } : undefined;
}

/** OpenStack's answer as a ComputeError: the code callers switch on, the service's words and request id in the message. */
export function toComputeError(error: unknown, doing: string): ComputeError {
  if (error instanceof ComputeError) return error;
  if (error instanceof OpenStackError) {
    const code: ComputeErrorCode =
      error.code === 'NOT_FOUND' || error.code === 'QUOTA' || error.code === 'INVALID'
        ? error.code
        : 'UNAVAILABLE';
    return new ComputeError(code, `${doing}: ${error.message}`, { cause: error });
  }
  if (error instanceof OpenStackWaitError) {
    const quota = /quota|exceeded/i.test(error.fault ?? '');
    return new ComputeError(quota ? 'QUOTA' : 'UNAVAILABLE', `${doing}: ${error.message}`, {
      cause: error,
    });
  }
  return new ComputeError('UNAVAILABLE', `${doing}: ${(error as Error).message ?? String(error)}`, {
    cause: error,
  });
}

/** What the cloud holds for one instance. */
interface Parts {
  servers: Server[];
  volumes: Volume[];
  groups: SecurityGroup[];
  ports: Port[];
}

/**
 * The server's user data: the guest's two files, the agent config completed with the VM's
 * datastore settings (bind to every address, `port`, `GUEST_PATHS`), as a cloud-config
 * document. What a guest image's boot unit reads from the config drive (the guest image's
 * VM test makes its config drive from this too).
 */
export function guestUserData(
  spec: Pick<ServerSpec, 'guestInfo' | 'agentConfig'>,
  port: number,
): { guestInfo: GuestInfo; userData: string } {
  const guestInfo = guestInfoSchema.safeParse(spec.guestInfo);
  const agentConfig = guestAgentConfigSchema.safeParse({
    ...spec.agentConfig,
    datastore: { bindAddress: '0.0.0.0', port, ...GUEST_PATHS },
  });
  if (!guestInfo.success || !agentConfig.success)
    throw new ComputeError(
      'INVALID',
      `the guest's files do not parse: ${(guestInfo.error ?? agentConfig.error)?.message}`,
    );
  const userData = userDataFor(guestFiles(guestInfo.data, agentConfig.data));
  if (Buffer.byteLength(Buffer.from(userData).toString('base64')) > MAX_USER_DATA_BYTES)
    throw new ComputeError('INVALID', 'the guest files exceed what Nova takes as user data');
  return { guestInfo: guestInfo.data, userData };
}

export class OpenStackComputeProvider implements ComputeProvider {
  readonly name = 'openstack';
  private readonly session: OpenStackSession;
  private readonly logger: ComputeLogger;
  private readonly databasePort: number;
  private readonly streamPort: number | null;
  private readonly controlPlaneCidrs: readonly string[];
  private readonly timeoutMs: number;
  /** Every wait for OpenStack: up to `timeoutMs`, looking every 250 to 500 ms (POLL). */
  private readonly wait: { timeoutMs: number; intervalMs: number; maxIntervalMs: number };
  private resolved: Promise<{ imageId: string; networkId: string }> | undefined;
  private guestsGroups: Promise<GuestsGroups | null> | undefined;

  constructor(private readonly options: OpenStackComputeProviderOptions) {
    this.session = options.session;
    this.logger = options.logger ?? silentLogger;
    this.databasePort = options.databasePort ?? 3306;
    this.streamPort = options.streamPort ?? null;
    if (this.streamPort === this.databasePort)
      throw new ComputeError('INVALID', 'the stream port must differ from the database port');
    this.controlPlaneCidrs = options.controlPlaneCidrs ?? [];
    this.timeoutMs = options.timeoutMs ?? 10 * 60_000;
    this.wait = { timeoutMs: this.timeoutMs, ...POLL };
  }

  async createServer(spec: ServerSpec): Promise<ServerInfo> {
    const instanceId = parseInstanceId(spec.instanceId);
    const flavor = parseFlavor(spec.flavor);
    if (!Number.isInteger(spec.volumeGb) || spec.volumeGb <= 0)
      throw new ComputeError(
        'INVALID',
        `a volume is a positive whole number of GB: ${spec.volumeGb}`,
      );
    const sources = parseAllowedSources(spec.allowedSources ?? privateSources());
    const port = spec.port ?? this.databasePort;
    const { guestInfo, userData } = guestUserData(spec, port);

    // a create that fails looks the guests group up again next time (a duplicate this
    // provider knew may have been merged away by another worker meanwhile)
    const forgetGuests = (error: unknown) => {
      this.guestsGroups = undefined;
      throw error;
    };
    return this.call(`create server for instance ${instanceId}`, async () => {
      const started = Date.now();
      const steps: Record<string, number> = {};
      let at = started;
      const step = (name: string) => {
        steps[name] = Date.now() - at;
        at = Date.now();
      };
      const tag = instanceTag(instanceId);
      const { imageId, networkId } = await this.resolve();
      // the flavor first: a size Nova has no flavor for makes nothing
      const [nova, existing] = await Promise.all([
        findFlavor(this.session, flavor),
        this.partsOf(instanceId),
      ]);
      if (!nova)
        throw new ComputeError(
          'INVALID',
          `no Nova flavor has ${flavor.vcpus} vCPUs and ${flavor.ramMb} MB`,
        );
      // a create run again reuses what an earlier one made. Neutron (Zed) takes no tags in a
      // POST: a new group's and port's tags are set beside the next steps, not before them (a
      // create killed before they are set leaves parts that are still found by name).
      const tagging: Promise<unknown>[] = [];
      const tagged =
        <T extends { id: string }>(resource: 'security-groups' | 'ports') =>
        (part: T) => {
          const setting = setTags(this.session, resource, part.id, [tag, TAG]);
          // awaited below; handled now, so that a create failing before then rejects only once
          setting.catch(() => undefined);
          tagging.push(setting);
          return part;
        };
      const [made, volume, reused, guests] = await Promise.all([
        existing.groups[0] ??
          createSecurityGroup(this.session, {
            name: securityGroupName(instanceId),
            description: `Coffer instance ${instanceId}: the database port`,
          }).then(tagged('security-groups')),
        existing.volumes[0] ??
          createVolume(this.session, {
            size: spec.volumeGb,
            name: `coffer-${instanceId}`,
            volumeType: this.options.volumeType,
            metadata: { [META_INSTANCE]: instanceId },
          }),
        this.reusable(existing.servers[0]),
        this.guestsGroup(),
      ]);
      step('groupAndVolumeMs');
      // the rules, the port in the group and the volume's wait, at once (a port an earlier
      // create made, maybe before the stream port, joins the guests group)
      const [group, portId] = await Promise.all([
        this.applyRules(made, sources, port, guests?.id ?? null),
        Promise.all(existing.ports.map((p) => this.joinGuests(p, guests))).then(() =>
          reused
            ? undefined
            : (existing.ports[0]?.id ??
              createPort(this.session, {
                networkId,
                name: partName(instanceId),
                securityGroupIds: guests ? [made.id, guests.id] : [made.id],
              })
                .then(tagged('ports'))
                .then((created) => created.id)),
        ),
        reused || volume.status === 'available'
          ? undefined
          : waitForVolume(this.session, volume.id, 'available', this.wait),
      ]);
      step('portMs');
      let server: Pick<Server, 'id'> | undefined = reused;
      if (!server) {
        const { id } = await createServer(this.session, {
          name: `coffer-${instanceId}`,
          flavorRef: nova.id,
          imageRef: imageId,
          networks: [{ port: portId! }],
          volumes: [{ volumeId: volume.id }],
          userData,
          configDrive: true,
          metadata: {
            [META_INSTANCE]: instanceId,
            [META_PROJECT]: guestInfo.projectId,
            [META_PUBLIC]: String(sources.isPublic),
            [META_PORT]: String(port),
            [META_FLAVOR]: flavorText(flavor),
            [META_VOLUME]: volume.id,
          },
          tags: [tag, TAG],
        });
        server = { id };
      }
      const [active] = await Promise.all([
        waitForServer(this.session, server.id, 'ACTIVE', this.wait),
        ...tagging,
      ]);
      step('serverMs');
      // the volume's size is the one asked for (or the one found): no need to ask Cinder again
      const info = this.infoOf(active, volume, group);
      this.logger.info(
        { instanceId, server: active.id, host: info.host, ms: Date.now() - started, ...steps },
        'openstack server created',
      );
      return info;
    }).catch(forgetGuests);
  }

  async getServer(serverId: string): Promise<ServerInfo | null> {
    const parsed = instanceIdSchema.safeParse(serverId);
    if (!parsed.success) return null;
    return this.call(`get server ${serverId}`, async () => {
      const parts = await this.partsOf(parsed.data);
      const server = parts.servers.find((s) => s.taskState !== 'deleting');
      if (!server) return null;
      return this.infoOf(server, parts.volumes[0] ?? null, parts.groups[0] ?? null);
    });
  }

  /**
   * Where the server's guest listens for a direct stream, as other guests reach it: its fixed
   * address on the guests' network and the configured stream port (the guest listens on its
   * bind address, every address, at the port the control plane gives it). Null without a
   * stream port, or a server with no address yet.
   *
   * Asked right before a stream (the source's snapshot, each replica's prepare), it first
   * brings the server up to date, idempotently: its group gets the stream rule from the
   * guests group and its port joins that group (a server made before the stream port had
   * neither until its next change of sources), and a duplicate guests group (two creates at
   * once) is merged into the one. Here rather than when the worker starts: it is where the
   * rule is needed, it covers servers an older worker made meanwhile, its reads are the ones
   * `getServer` makes plus the guests group by name, and it writes only what is missing. A
   * replica's own port is made in the guests group by `createServer` (a port an earlier
   * create made joins it there).
   */
  async guestStreamEndpoint(serverId: string): Promise<GuestStreamEndpoint | null> {
    const streamPort = this.streamPort;
    const parsed = instanceIdSchema.safeParse(serverId);
    if (streamPort === null || !parsed.success) return null;
    return this.call(`stream endpoint of server ${serverId}`, async () => {
      const [parts, guests] = await Promise.all([
        this.partsOf(parsed.data),
        this.guestsGroup({ fresh: true }),
      ]);
      const server = parts.servers.find((s) => s.taskState !== 'deleting');
      const host = server && this.infoOf(server, null, null).host;
      if (!host || !guests) return null;
      await Promise.all([
        ...parts.groups.slice(0, 1).map((group) => this.applyStreamRule(group, guests.id)),
        ...parts.ports.map((port) => this.joinGuests(port, guests)),
        this.mergeDuplicateGuests(guests),
      ]);
      return { host, port: streamPort };
    });
  }

  async rebootServer(serverId: string): Promise<void> {
    const instanceId = parseInstanceId(serverId);
    await this.call(`reboot server ${serverId}`, async () => {
      const server = await this.serverOf(instanceId);
      const hard = server.status === 'SHUTOFF' || server.status === 'ERROR';
      await rebootServer(this.session, server.id, hard ? 'HARD' : 'SOFT');
      await waitForServer(this.session, server.id, 'ACTIVE', this.wait);
    });
  }

  /** Nova's resize restarts the server (`restarted`); a size the current Nova flavor already fits is `in-place`. */
  async resizeServer(serverId: string, flavor: Flavor): Promise<ServerResize> {
    const instanceId = parseInstanceId(serverId);
    const wanted = parseFlavor(flavor);
    return this.call(`resize server ${serverId}`, async () => {
      const server = await this.serverOf(instanceId);
      if (server.metadata[META_FLAVOR] === flavorText(wanted) && server.status === 'ACTIVE')
        return 'in-place';
      const nova = await findFlavor(this.session, wanted);
      if (!nova)
        throw new ComputeError(
          'INVALID',
          `no Nova flavor has ${wanted.vcpus} vCPUs and ${wanted.ramMb} MB`,
        );
      const restart = server.flavor.name !== nova.name;
      if (restart) await resizeServerAndConfirm(this.session, server.id, nova.id, this.wait);
      await setServerMetadata(this.session, server.id, { [META_FLAVOR]: flavorText(wanted) });
      return restart ? 'restarted' : 'in-place';
    });
  }

  async extendVolume(
    serverId: string,
    volumeGb: number,
    _options?: ExtendVolumeOptions,
  ): Promise<VolumeGrowth> {
    const instanceId = parseInstanceId(serverId);
    if (!Number.isInteger(volumeGb) || volumeGb <= 0)
      throw new ComputeError('INVALID', `a volume is a positive whole number of GB: ${volumeGb}`);
    return this.call(`extend the volume of server ${serverId}`, async () => {
      await this.serverOf(instanceId);
      const [volume] = await listVolumes(this.session, {
        metadata: { [META_INSTANCE]: instanceId },
      });
      if (!volume) throw new ComputeError('NOT_FOUND', `server ${serverId} has no volume`);
      if (volume.size === volumeGb) return 'unchanged';
      if (volumeGb < volume.size)
        throw new ComputeError(
          'INVALID',
          `a volume never shrinks: ${volume.size} GB to ${volumeGb} GB`,
        );
      // Cinder extends an attached volume (3.42+) and tells Nova; the guest grows its filesystem
      await extendVolume(this.session, volume.id, volumeGb);
      await waitForVolume(this.session, volume.id, volume.status, {
        ...this.wait,
        size: volumeGb,
      });
      return 'online';
    });
  }

  async setAllowedSources(serverId: string, sources: AllowedSources): Promise<void> {
    const instanceId = parseInstanceId(serverId);
    const parsed = parseAllowedSources(sources);
    await this.call(`set the allowed sources of server ${serverId}`, async () => {
      const server = await this.serverOf(instanceId);
      const [group] = await listSecurityGroups(this.session, { tags: [instanceTag(instanceId)] });
      if (!group) throw new ComputeError('NOT_FOUND', `server ${serverId} has no security group`);
      const port = Number(server.metadata[META_PORT] ?? this.databasePort);
      await this.applyRules(group, parsed, port, (await this.guestsGroup())?.id ?? null);
      await setServerMetadata(this.session, server.id, { [META_PUBLIC]: String(parsed.isPublic) });
    });
  }

  /**
   * Removes the server, then its port, volume and security group, each found by the
   * instance's tag: what an interrupted create or delete left goes too. Idempotent.
   */
  async deleteServer(serverId: string): Promise<void> {
    const instanceId = parseInstanceId(serverId);
    await this.call(`delete server ${serverId}`, async () => {
      const started = Date.now();
      const wait = this.wait;
      const parts = await this.partsOf(instanceId);
      await Promise.all(
        parts.servers.map(async (server) => {
          await deleteServer(this.session, server.id);
          await waitForServerDeleted(this.session, server.id, wait);
        }),
      );
      // once the server is gone: its port(s) then its group, beside its volume
      await Promise.all([
        (async () => {
          // ports made for the server are the provider's to delete (Nova keeps them)
          for (const { id } of await this.portsOf(instanceId, await this.projectId()))
            await deletePort(this.session, id);
          for (const group of parts.groups) await deleteSecurityGroup(this.session, group.id);
        })(),
        ...parts.volumes.map((volume) => this.deleteVolumeOnceFree(volume.id, started)),
      ]);
      if (parts.servers.length + parts.volumes.length + parts.groups.length + parts.ports.length)
        this.logger.info(
          {
            instanceId,
            servers: parts.servers.length,
            volumes: parts.volumes.length,
            securityGroups: parts.groups.length,
            ports: parts.ports.length,
            ms: Date.now() - started,
          },
          'openstack server deleted',
        );
    });
  }

  /**
   * Deletes a volume once Cinder lets it go. Right after its server is deleted Cinder may still
   * hold it attached, or be detaching it, while its status already reads `available`; it then
   * refuses the delete (400, "Volume status must be available … and must not be … attached"):
   * wait for it to be free and try again, until the provider's timeout (counted from `since`).
   */
  private async deleteVolumeOnceFree(volumeId: string, since: number): Promise<void> {
    const deadline = since + this.wait.timeoutMs;
    for (let pause = this.wait.intervalMs; ; pause = Math.min(pause * 2, this.wait.maxIntervalMs)) {
      const now = await getVolume(this.session, volumeId);
      if (!now) return;
      const isBusy =
        now.attachments.length > 0 ||
        (now.status !== 'available' && !now.status.startsWith('error'));
      if (isBusy) {
        // Nova normally detaches within seconds; an attachment it left for a server it has
        // deleted (one deleted while still being built) would hold the volume forever.
        if (Date.now() - since >= ORPHANED_ATTACHMENT_GRACE_MS)
          await this.deleteOrphanedAttachments(now);
        try {
          await waitForVolume(this.session, volumeId, 'available', {
            ...this.wait,
            timeoutMs: Math.max(
              Math.min(deadline - Date.now(), ORPHANED_ATTACHMENT_GRACE_MS),
              this.wait.intervalMs,
            ),
          });
        } catch (error) {
          const isTimeout = error instanceof OpenStackWaitError && error.reason === 'TIMEOUT';
          if (!isTimeout || Date.now() >= deadline) throw error;
          continue; // still held: look at its attachments again
        }
      }
      try {
        await deleteVolume(this.session, volumeId);
        break;
      } catch (error) {
        const isRefusedForItsState =
          error instanceof OpenStackError &&
          error.code === 'INVALID' &&
          /volume status must be/i.test(error.serviceMessage);
        if (!isRefusedForItsState || Date.now() + pause > deadline) throw error;
        this.logger.info(
          { volumeId, status: now.status, retryInMs: pause },
          'openstack: Cinder still holds the volume; its delete is tried again',
        );
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
    await waitForVolumeDeleted(this.session, volumeId, this.wait);
  }

  /**
   * Deletes the volume's attachments whose server Nova no longer has: those the volume lists
   * (attached) and those only Cinder's attachments API shows (`reserved`: a server deleted
   * after Nova reserved the volume and before it attached it leaves the volume `reserved`).
   */
  private async deleteOrphanedAttachments(volume: Volume): Promise<void> {
    const attachments = new Map(volume.attachments.map((a) => [a.attachmentId, a.serverId]));
    for (const listed of await listAttachmentsOfVolume(this.session, volume.id))
      attachments.set(listed.attachmentId, listed.serverId);
    for (const [attachmentId, serverId] of attachments) {
      if (serverId && (await getNovaServer(this.session, serverId))) continue;
      this.logger.info(
        { volumeId: volume.id, serverId },
        'openstack: the volume is still held for a deleted server; its attachment is deleted',
      );
      await deleteAttachment(this.session, attachmentId);
    }
  }

  /**
   * Every instance the cloud holds something of: its server's info, or, for what a crashed
   * create left without a server (a security group, a volume, a port), an entry in ERROR so
   * that reconciliation deletes it.
   */
  async listServers(): Promise<ServerInfo[]> {
    return this.call('list servers', async () => {
      // Neutron lists every project's groups and ports to an admin: only this project's are
      // Coffer's to reconcile (Nova and Cinder list the token's project unless asked otherwise).
      const projectId = await this.projectId();
      // groups and ports by name too: a create killed before tagging them leaves them untagged
      const [servers, groups, volumes, ports] = await Promise.all([
        listServers(this.session, { tags: [TAG] }),
        listSecurityGroups(this.session, { projectId }).then((all) =>
          all.map((g) => ({ ...g, tags: withNameTag(g.tags, g.name, 'SecGroup-') })),
        ),
        listVolumes(this.session).then((all) => all.filter((v) => v.metadata[META_INSTANCE])),
        listPorts(this.session, { projectId }).then((all) =>
          all.map((p) => ({ ...p, tags: withNameTag(p.tags, p.name, 'coffer-') })),
        ),
      ]);
      const infos = new Map<string, ServerInfo>();
      const groupOf = (instanceId: string) =>
        groups.find((g) => g.tags.includes(instanceTag(instanceId))) ?? null;
      const volumeOf = (instanceId: string) =>
        volumes.find((v) => v.metadata[META_INSTANCE] === instanceId) ?? null;
      for (const server of servers) {
        const instanceId = server.metadata[META_INSTANCE];
        if (!instanceId || server.taskState === 'deleting') continue;
        infos.set(instanceId, this.infoOf(server, volumeOf(instanceId), groupOf(instanceId)));
      }
      const leftovers = [
        ...groups.map((g) => g.tags),
        ...ports.map((p) => p.tags),
        ...volumes.map((v) => [instanceTag(v.metadata[META_INSTANCE]!)]),
      ];
      for (const tags of leftovers) {
        const instanceId = tags
          .find((t) => t.startsWith('coffer-instance-'))
          ?.slice('coffer-instance-'.length);
        if (!instanceId || infos.has(instanceId)) continue;
        infos.set(instanceId, {
          serverId: instanceId,
          instanceId,
          host: '',
          port: this.databasePort,
          status: 'ERROR',
          flavor: { vcpus: 0, ramMb: 0 },
          volumeGb: volumeOf(instanceId)?.size ?? 0,
          allowedSources: privateSources(),
        });
      }
      return [...infos.values()];
    });
  }

  /** The guest's supervisor is the VM's init system: this only says whether the server is there. */
  async ensureServerRunning(serverId: string): Promise<GuestSupervision> {
    const server = await this.getServer(serverId);
    return server ? { state: 'running' } : { state: 'missing' };
  }

  // ------------------------------------------------------------------ helpers

  private async call<T>(doing: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const mapped = toComputeError(error, doing);
      if (mapped !== error)
        this.logger.warn({ err: mapped.message, code: mapped.code }, 'openstack call failed');
      throw mapped;
    }
  }

  private resolve(): Promise<{ imageId: string; networkId: string }> {
    this.resolved ??= (async () => {
      const { image, network } = this.options;
      const byName = await listImages(this.session, { name: image });
      const imageId = byName[0]?.id ?? (UUID.test(image) ? image : undefined);
      if (!imageId) throw new ComputeError('UNAVAILABLE', `Glance has no image named ${image}`);
      const networks = await listNetworks(this.session, { name: network });
      if (networks.length > 1)
        throw new ComputeError(
          'UNAVAILABLE',
          `${networks.length} networks are named ${network}: give its id`,
        );
      const networkId = networks[0]?.id ?? (UUID.test(network) ? network : undefined);
      if (!networkId)
        throw new ComputeError('UNAVAILABLE', `Neutron has no network named ${network}`);
      return { imageId, networkId };
    })().catch((error: unknown) => {
      this.resolved = undefined;
      throw error;
    });
    return this.resolved;
  }

  /**
   * A create run again takes over the server an earlier run made: a stopped one is started, one
   * in ERROR (its fault logged) is deleted so that a new one is made.
   */
  private async reusable(server: Server | undefined): Promise<Server | undefined> {
    if (!server) return undefined;
    if (server.status === 'SHUTOFF' && server.taskState === null) {
      await startServer(this.session, server.id);
      return server;
    }
    if (server.status !== 'ERROR') return server;
    this.logger.warn(
      { server: server.id, fault: server.fault?.message },
      'openstack server in ERROR from an earlier create: replacing it',
    );
    await deleteServer(this.session, server.id);
    await waitForServerDeleted(this.session, server.id, this.wait);
    return undefined;
  }

  /**
   * Everything of one instance: by its tag, and the group and port also by name (a create
   * killed between making one and tagging it leaves it untagged, never unnamed).
   */
  private async partsOf(instanceId: string): Promise<Parts> {
    const tags = [instanceTag(instanceId)];
    const projectId = await this.projectId();
    const [servers, volumes, tagged, named, ports] = await Promise.all([
      listServers(this.session, { tags }),
      listVolumes(this.session, { metadata: { [META_INSTANCE]: instanceId } }),
      listSecurityGroups(this.session, { tags, projectId }),
      listSecurityGroups(this.session, { name: securityGroupName(instanceId), projectId }),
      this.portsOf(instanceId, projectId),
    ]);
    return { servers, volumes, groups: unique([...tagged, ...named]), ports };
  }

  /** The instance's ports, by tag and by name. */
  private async portsOf(instanceId: string, projectId: string | undefined): Promise<Port[]> {
    const [tagged, named] = await Promise.all([
      listPorts(this.session, { tags: [instanceTag(instanceId)], projectId }),
      listPorts(this.session, { name: partName(instanceId), projectId }),
    ]);
    return unique([...tagged, ...named]);
  }

  /**
   * The guests group (made when missing; null without a stream port): kept once known, looked
   * up again with `fresh`. When none exists, the group made is compared with those of that
   * name listed after it (`chooseGuestsGroup`, the oldest): a maker whose group lost removes
   * it unless a port is in it already (another create took it meanwhile; merged later).
   */
  private guestsGroup(options: { fresh?: boolean } = {}): Promise<GuestsGroups | null> {
    if (this.streamPort === null) return Promise.resolve(null);
    if (options.fresh || !this.guestsGroups) {
      const looking = this.findOrMakeGuestsGroup();
      this.guestsGroups = looking;
      looking.catch(() => {
        if (this.guestsGroups === looking) this.guestsGroups = undefined;
      });
    }
    return this.guestsGroups;
  }

  private async findOrMakeGuestsGroup(): Promise<GuestsGroups> {
    const projectId = await this.projectId();
    const named = () => listSecurityGroups(this.session, { name: GUESTS_GROUP, projectId });
    const found = chooseGuestsGroup(await named());
    if (found) return found;
    const made = await createSecurityGroup(this.session, {
      name: GUESTS_GROUP,
      description: "Coffer's guests: each one's direct-stream port lets this group's members in",
      tags: [TAG],
    });
    const chosen = chooseGuestsGroup([...(await named()), made])!;
    if (chosen.id !== made.id && (await this.deleteUnusedGroup(made.id)))
      chosen.duplicates = chosen.duplicates.filter((id) => id !== made.id);
    return chosen;
  }

  /** Deletes a group no port is in; false (and it stays) when one is. */
  private async deleteUnusedGroup(groupId: string): Promise<boolean> {
    try {
      await deleteSecurityGroup(this.session, groupId);
      return true;
    } catch (error) {
      if (isOpenStackError(error, 'CONFLICT')) return false;
      throw error;
    }
  }

  /** The port in the guests group (and out of its duplicates), when it is not. */
  private async joinGuests(port: Port, guests: GuestsGroups | null): Promise<void> {
    const groups = guests && portGroupsWithGuests(port.securityGroupIds, guests);
    if (!groups) return;
    await setPortSecurityGroups(this.session, port.id, groups);
    this.logger.info(
      { port: port.id, securityGroups: groups },
      'openstack port joined the guests group',
    );
  }

  /**
   * A duplicate guests group's ports (Coffer's, tagged) moved to the one, and the duplicate
   * removed once no port is in it; the rules naming it go with it (Neutron's cascade), the
   * instances' stream rules are set from the one when next asked for.
   */
  private async mergeDuplicateGuests(guests: GuestsGroups): Promise<void> {
    if (guests.duplicates.length === 0) return;
    const ports = await listPorts(this.session, { tags: [TAG], projectId: await this.projectId() });
    await Promise.all(
      ports
        .filter((port) => port.securityGroupIds.some((id) => guests.duplicates.includes(id)))
        .map((port) => this.joinGuests(port, guests)),
    );
    for (const id of guests.duplicates) {
      if (await this.deleteUnusedGroup(id))
        this.logger.warn(
          { securityGroup: id, kept: guests.id },
          'openstack duplicate guests group removed',
        );
    }
  }

  /** The project the provider's token is scoped to (its own resources' owner). */
  private async projectId(): Promise<string | undefined> {
    return (await this.session.auth.token()).project?.id;
  }

  private async serverOf(instanceId: string): Promise<Server> {
    const [server] = (await listServers(this.session, { tags: [instanceTag(instanceId)] })).filter(
      (s) => s.taskState !== 'deleting',
    );
    if (!server) throw new ComputeError('NOT_FOUND', `no server ${instanceId}`);
    return server;
  }

  /**
   * Adds the rules the sources want (and the stream rule, from the guests group) before
   * removing those they no longer do (never closed in between); answers the group with its
   * rules as they now are.
   */
  private async applyRules(
    group: SecurityGroup,
    sources: AllowedSources,
    port: number,
    guestsGroupId: string | null,
  ): Promise<SecurityGroup> {
    const { add, remove } = ruleChanges(
      group.rules,
      wantedRules(sources, this.controlPlaneCidrs),
      port,
    );
    const [stream, ...added] = await Promise.all([
      this.applyStreamRule(group, guestsGroupId, { isRemoving: false }),
      ...add.map((rule) =>
        createSecurityGroupRule(this.session, {
          securityGroupId: group.id,
          direction: 'ingress',
          protocol: 'tcp',
          portRangeMin: port,
          portRangeMax: port,
          remoteIpPrefix: rule.remoteIpPrefix,
          description: rule.description,
        }),
      ),
    ]);
    remove.push(...stream.removed);
    await Promise.all(remove.map((id) => deleteSecurityGroupRule(this.session, id)));
    return {
      ...group,
      rules: [
        ...group.rules.filter((rule) => !remove.includes(rule.id)),
        ...stream.added,
        ...added,
      ],
    };
  }

  /**
   * The group's stream rule from the guests group (`streamRuleChanges`): added when missing,
   * then Coffer's other stream rules removed (unless `isRemoving` is false: the caller does).
   */
  private async applyStreamRule(
    group: SecurityGroup,
    guestsGroupId: string | null,
    options: { isRemoving?: boolean } = {},
  ): Promise<{ added: SecurityGroupRule[]; removed: string[] }> {
    const wanted =
      this.streamPort !== null && guestsGroupId
        ? { port: this.streamPort, remoteGroupId: guestsGroupId }
        : null;
    const changes = streamRuleChanges(group.rules, wanted);
    const added =
      changes.add && wanted
        ? [
            await createSecurityGroupRule(this.session, {
              securityGroupId: group.id,
              direction: 'ingress',
              protocol: 'tcp',
              portRangeMin: wanted.port,
              portRangeMax: wanted.port,
              remoteGroupId: wanted.remoteGroupId,
              description: RULE_GUEST_STREAM,
            }),
          ]
        : [];
    if (options.isRemoving !== false)
      await Promise.all(changes.remove.map((id) => deleteSecurityGroupRule(this.session, id)));
    return { added, removed: changes.remove };
  }

  private infoOf(server: Server, volume: Volume | null, group: SecurityGroup | null): ServerInfo {
    const instanceId = server.metadata[META_INSTANCE] ?? server.id;
    const address = Object.values(server.addresses).flat();
    return {
      serverId: instanceId,
      instanceId,
      host: (address.find((a) => a.version === 4) ?? address[0])?.addr ?? '',
      port: Number(server.metadata[META_PORT] ?? this.databasePort),
      status: statusOf(server),
      flavor: flavorOfText(server.metadata[META_FLAVOR]) ?? {
        vcpus: server.flavor.vcpus,
        ramMb: server.flavor.ramMb,
      },
      volumeGb: volume?.size ?? 0,
      allowedSources: sourcesOfRules(group?.rules ?? [], server.metadata[META_PUBLIC] === 'true'),
    };
  }
}

/**
 * How often a wait looks: from 250 ms, growing by half, to at most every 500 ms (at most two
 * requests a second per operation waiting). A volume is available, a server ACTIVE or gone,
 * within seconds; a longer pause adds up to its length to each create or delete (the shared
 * wait's default, growing to 2 s, made a create 1.3-1.5 times as long as a script polling
 * every 250 ms: docs/benchmarks.md, OpenStack).
 */
const POLL = { intervalMs: 250, maxIntervalMs: 500 } as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The name Coffer gives an instance's server, volume and port. */
const partName = (instanceId: string) => `coffer-${instanceId}`;

function unique<T extends { id: string }>(items: T[]): T[] {
  return [...new Map(items.map((item) => [item.id, item])).values()];
}

/** A resource's tags, plus the instance tag its name implies (`<prefix><instanceId>`), if any. */
function withNameTag(tags: string[], name: string, prefix: string): string[] {
  const id = name.startsWith(prefix) ? name.slice(prefix.length) : '';
  return UUID.test(id) && !tags.includes(instanceTag(id)) ? [...tags, instanceTag(id)] : tags;
}

/** Nova's status, reduced to what the taskmanager acts on: anything in progress is BUILD. */
export function statusOf(server: Pick<Server, 'status'>): ServerStatus {
  switch (server.status) {
    case 'ACTIVE':
      return 'ACTIVE';
    case 'SHUTOFF':
    case 'SUSPENDED':
    case 'PAUSED':
    case 'SHELVED':
    case 'SHELVED_OFFLOADED':
      return 'SHUTOFF';
    case 'ERROR':
    case 'UNKNOWN':
    case 'DELETED':
    case 'SOFT_DELETED':
      return 'ERROR';
    default:
      return 'BUILD';
  }
}
