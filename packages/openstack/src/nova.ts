import { isOpenStackError } from './errors';
import { listFlavors, nova, type Flavor } from './services';
import type { OpenStackSession } from './session';
import { waitFor, type Look, type WaitOptions } from './wait';

/**
 * Nova, at the session's compute microversion (2.56, `MICROVERSIONS.compute`): servers (create,
 * show, list by tag, reboot, resize and confirm, delete, waiting for a status), their volume
 * attachments, and flavors. 2.56 is the last microversion that accepts `personality` (injected
 * files); tags at create need 2.52, the embedded flavor in a server 2.47, user data shown to an
 * admin 2.3.
 */

/** Nova's server statuses (`status`, derived from vm_state and task_state). */
export type ServerStatus =
  | 'ACTIVE'
  | 'BUILD'
  | 'DELETED'
  | 'ERROR'
  | 'HARD_REBOOT'
  | 'MIGRATING'
  | 'PASSWORD'
  | 'PAUSED'
  | 'REBOOT'
  | 'REBUILD'
  | 'RESCUE'
  | 'RESIZE'
  | 'REVERT_RESIZE'
  | 'SHELVED'
  | 'SHELVED_OFFLOADED'
  | 'SHUTOFF'
  | 'SOFT_DELETED'
  | 'SUSPENDED'
  | 'UNKNOWN'
  | 'VERIFY_RESIZE';

/** One of the server's networks: a network (Nova makes the port) or a port made beforehand. */
export type ServerNetwork = { uuid: string; fixedIp?: string } | { port: string };

/** A file Nova injects (`personality`, microversion ≤ 2.56; the config drive carries it). */
export interface InjectedFile {
  path: string;
  contents: string | Uint8Array;
}

export interface CreateServerRequest {
  name: string;
  flavorRef: string;
  imageRef: string;
  /**
   * Networks or ports. Security groups given here apply to the ports Nova makes; a port made
   * beforehand keeps its own. `none`: no network at all.
   */
  networks: readonly ServerNetwork[] | 'none' | 'auto';
  /** Security groups by name or id. */
  securityGroups?: readonly string[];
  /** Cloud-init's user data (base64-encoded here; at most 64 KiB encoded). */
  userData?: string | Uint8Array;
  configDrive?: boolean;
  /** Key/value strings, each at most 255 characters. */
  metadata?: Record<string, string>;
  /** At most 50 tags, each at most 60 characters, without `/` or `,`. */
  tags?: readonly string[];
  personality?: readonly InjectedFile[];
  /** Cinder volumes attached at boot (block_device_mapping_v2, after the image as boot disk). */
  volumes?: readonly { volumeId: string; deleteOnTermination?: boolean }[];
  availabilityZone?: string;
  keyName?: string;
  description?: string;
}

export interface ServerFault {
  code: number;
  message: string;
  details?: string;
  created: string;
}

export interface ServerAddress {
  addr: string;
  version: 4 | 6;
  type?: string;
  mac?: string;
}

export interface Server {
  id: string;
  name: string;
  status: ServerStatus;
  /** `OS-EXT-STS:task_state`: what Nova is doing to it now (`spawning`, `resize_prep`…), or null. */
  taskState: string | null;
  /** `OS-EXT-STS:vm_state`. */
  vmState?: string;
  /** The flavor as embedded in the server (2.47+): the flavor's name, not its id. */
  flavor: { name: string; vcpus: number; ramMb: number; diskGb: number };
  imageId?: string;
  /** Per network name, the server's addresses. */
  addresses: Record<string, ServerAddress[]>;
  metadata: Record<string, string>;
  tags: string[];
  /** Security group names. */
  securityGroups: string[];
  /** Ids of the Cinder volumes attached. */
  volumeIds: string[];
  configDrive: boolean;
  /** The user data as given (decoded), when the caller may see it (admin, 2.3+). */
  userData?: string;
  /** Why it is in ERROR (or what last failed on it), in Nova's words. */
  fault?: ServerFault;
  projectId: string;
  created: string;
  updated: string;
}

export interface VolumeAttachment {
  id: string;
  serverId: string;
  volumeId: string;
  device?: string;
  tag?: string;
}

interface RawServer {
  id: string;
  name: string;
  status: ServerStatus;
  tenant_id: string;
  created: string;
  updated: string;
  'OS-EXT-STS:task_state'?: string | null;
  'OS-EXT-STS:vm_state'?: string;
  flavor: {
    original_name: string;
    vcpus: number;
    ram: number;
    disk: number;
  };
  image: { id: string } | '';
  addresses?: Record<
    string,
    {
      addr: string;
      version: 4 | 6;
      'OS-EXT-IPS:type'?: string;
      'OS-EXT-IPS-MAC:mac_addr'?: string;
    }[]
  >;
  metadata?: Record<string, string>;
  tags?: string[];
  security_groups?: { name: string }[];
  'os-extended-volumes:volumes_attached'?: { id: string }[];
  config_drive?: string;
  'OS-EXT-SRV-ATTR:user_data'?: string | null;
  fault?: ServerFault;
}

function toServer(raw: RawServer): Server {
  const userData = raw['OS-EXT-SRV-ATTR:user_data'];
  return {
    id: raw.id,
    name: raw.name,
    status: raw.status,
    taskState: raw['OS-EXT-STS:task_state'] ?? null,
    vmState: raw['OS-EXT-STS:vm_state'],
    flavor: {
      name: raw.flavor.original_name,
      vcpus: raw.flavor.vcpus,
      ramMb: raw.flavor.ram,
      diskGb: raw.flavor.disk,
    },
    imageId: raw.image === '' ? undefined : raw.image.id,
    addresses: Object.fromEntries(
      Object.entries(raw.addresses ?? {}).map(([network, list]) => [
        network,
        list.map((a) => ({
          addr: a.addr,
          version: a.version,
          type: a['OS-EXT-IPS:type'],
          mac: a['OS-EXT-IPS-MAC:mac_addr'],
        })),
      ]),
    ),
    metadata: raw.metadata ?? {},
    tags: raw.tags ?? [],
    // a group on two ports is listed twice
    securityGroups: [...new Set((raw.security_groups ?? []).map((g) => g.name))],
    volumeIds: (raw['os-extended-volumes:volumes_attached'] ?? []).map((v) => v.id),
    configDrive: raw.config_drive === 'True' || raw.config_drive === 'true',
    userData: userData ? Buffer.from(userData, 'base64').toString('utf8') : undefined,
    fault: raw.fault,
    projectId: raw.tenant_id,
    created: raw.created,
    updated: raw.updated,
  };
}

function base64(value: string | Uint8Array): string {
  return Buffer.from(value).toString('base64');
}

/**
 * Asks Nova for a server; answers its id at once (the server is BUILD: `waitForServer`).
 * The request is checked by Nova: a flavor, image, network or security group that does not
 * exist is INVALID or NOT_FOUND, a quota QUOTA.
 */
export async function createServer(
  session: OpenStackSession,
  request: CreateServerRequest,
): Promise<{ id: string }> {
  const networks =
    typeof request.networks === 'string'
      ? request.networks
      : request.networks.map((n) =>
          'port' in n ? { port: n.port } : { uuid: n.uuid, fixed_ip: n.fixedIp },
        );
  const server: Record<string, unknown> = {
    name: request.name,
    flavorRef: request.flavorRef,
    imageRef: request.imageRef,
    networks,
  };
  if (request.securityGroups)
    server.security_groups = request.securityGroups.map((name) => ({ name }));
  if (request.userData !== undefined) server.user_data = base64(request.userData);
  if (request.configDrive !== undefined) server.config_drive = request.configDrive;
  if (request.metadata) server.metadata = request.metadata;
  if (request.tags) server.tags = request.tags;
  if (request.personality)
    server.personality = request.personality.map((f) => ({
      path: f.path,
      contents: base64(f.contents),
    }));
  if (request.volumes?.length)
    server.block_device_mapping_v2 = [
      {
        boot_index: 0,
        uuid: request.imageRef,
        source_type: 'image',
        destination_type: 'local',
        delete_on_termination: true,
      },
      ...request.volumes.map((v) => ({
        boot_index: -1,
        uuid: v.volumeId,
        source_type: 'volume',
        destination_type: 'volume',
        delete_on_termination: v.deleteOnTermination ?? false,
      })),
    ];
  if (request.availabilityZone) server.availability_zone = request.availabilityZone;
  if (request.keyName) server.key_name = request.keyName;
  if (request.description !== undefined) server.description = request.description;
  const created = await nova(session).post<{ server: { id: string } }>('/servers', { server });
  return { id: created.server.id };
}

/** The server, or null when Nova has none by that id (deleted, or never was). */
export async function getServer(session: OpenStackSession, id: string): Promise<Server | null> {
  try {
    const { server } = await nova(session).get<{ server: RawServer }>(
      `/servers/${encodeURIComponent(id)}`,
      { notFoundExpected: true },
    );
    return toServer(server);
  } catch (error) {
    if (isOpenStackError(error, 'NOT_FOUND')) return null;
    throw error;
  }
}

export interface ListServersFilter {
  /** Servers with every one of these tags. */
  tags?: readonly string[];
  /** Servers with at least one of these tags. */
  tagsAny?: readonly string[];
  /** Nova's name filter is a regular expression: pass `^name$` for an exact match. */
  name?: string;
  status?: ServerStatus;
  /** Every project's servers (admin only). */
  allProjects?: boolean;
}

/** Servers with details, every page of them. */
export async function listServers(
  session: OpenStackSession,
  filter: ListServersFilter = {},
): Promise<Server[]> {
  const servers: Server[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await nova(session).get<{
      servers: RawServer[];
      servers_links?: { rel: string }[];
    }>('/servers/detail', {
      query: {
        tags: filter.tags?.length ? filter.tags.join(',') : undefined,
        'tags-any': filter.tagsAny?.length ? filter.tagsAny.join(',') : undefined,
        name: filter.name,
        status: filter.status,
        all_tenants: filter.allProjects ? 'true' : undefined,
        marker,
      },
    });
    servers.push(...page.servers.map(toServer));
    const last = page.servers.at(-1);
    if (!last || !page.servers_links?.some((l) => l.rel === 'next')) return servers;
    marker = last.id;
  }
}

async function serverAction(
  session: OpenStackSession,
  id: string,
  action: Record<string, unknown>,
): Promise<void> {
  await nova(session).post(`/servers/${encodeURIComponent(id)}/action`, action);
}

/** Merges `metadata` into the server's (`replace`: the server keeps only these); answers all of it. */
export async function setServerMetadata(
  session: OpenStackSession,
  id: string,
  metadata: Record<string, string>,
  mode: 'merge' | 'replace' = 'merge',
): Promise<Record<string, string>> {
  const path = `/servers/${encodeURIComponent(id)}/metadata`;
  const answer =
    mode === 'replace'
      ? await nova(session).put<{ metadata: Record<string, string> }>(path, { metadata })
      : await nova(session).post<{ metadata: Record<string, string> }>(path, { metadata });
  return answer.metadata;
}

/** Reboots the server (soft: the guest OS is asked; hard: power cycle). Status REBOOT, then ACTIVE. */
export async function rebootServer(
  session: OpenStackSession,
  id: string,
  type: 'SOFT' | 'HARD' = 'SOFT',
): Promise<void> {
  await serverAction(session, id, { reboot: { type } });
}

/** Stops the server (status SHUTOFF). */
export async function stopServer(session: OpenStackSession, id: string): Promise<void> {
  await serverAction(session, id, { 'os-stop': null });
}

/** Starts a stopped server (status ACTIVE). */
export async function startServer(session: OpenStackSession, id: string): Promise<void> {
  await serverAction(session, id, { 'os-start': null });
}

/** Starts a resize to another flavor: status RESIZE, then VERIFY_RESIZE (confirm or revert). */
export async function resizeServer(
  session: OpenStackSession,
  id: string,
  flavorRef: string,
): Promise<void> {
  await serverAction(session, id, { resize: { flavorRef } });
}

export async function confirmResize(session: OpenStackSession, id: string): Promise<void> {
  await serverAction(session, id, { confirmResize: null });
}

export async function revertResize(session: OpenStackSession, id: string): Promise<void> {
  await serverAction(session, id, { revertResize: null });
}

/**
 * Resizes the server to `flavorRef`, waits for VERIFY_RESIZE, confirms, and waits for ACTIVE
 * with nothing in progress. A resize Nova gave up on (no host for the flavor: the server goes
 * back to ACTIVE with the old flavor and no error) fails naming Nova's fault.
 */
export async function resizeServerAndConfirm(
  session: OpenStackSession,
  id: string,
  flavorRef: string,
  options: WaitOptions = {},
): Promise<Server> {
  await resizeServer(session, id, flavorRef);
  // Nova's API sets task_state resize_prep before it answers: ACTIVE with no task afterwards
  // means the resize ended without reaching VERIFY_RESIZE.
  await waitForServer(session, id, 'VERIFY_RESIZE', {
    ...options,
    failWhen: (s) => s.status === 'ACTIVE' && s.taskState === null,
  });
  await confirmResize(session, id);
  return waitForServer(session, id, 'ACTIVE', options);
}

/** Deletes the server; true when it existed. Nova deletes it asynchronously: `waitForServerDeleted`. */
export async function deleteServer(session: OpenStackSession, id: string): Promise<boolean> {
  try {
    await nova(session).delete(`/servers/${encodeURIComponent(id)}`, { notFoundExpected: true });
    return true;
  } catch (error) {
    if (isOpenStackError(error, 'NOT_FOUND')) return false;
    throw error;
  }
}

function describeState(server: Server): string {
  return server.taskState ? `${server.status}/${server.taskState}` : server.status;
}

function describeFault(server: Server): string | undefined {
  const fault = server.fault;
  if (!fault) return undefined;
  return `${fault.message} (Nova fault ${fault.code}${fault.created ? ` at ${fault.created}` : ''})`;
}

/**
 * Waits until the server has `status` and no task in progress. A server that goes to ERROR
 * (unless ERROR is awaited), or matches `failWhen`, fails the wait with Nova's fault in the
 * message; one that disappears fails as GONE; the deadline as TIMEOUT (OpenStackWaitError).
 */
export async function waitForServer(
  session: OpenStackSession,
  id: string,
  status: ServerStatus,
  options: WaitOptions & { failWhen?: (server: Server) => boolean } = {},
): Promise<Server> {
  return waitFor(
    { resource: 'server', id, wanted: status },
    async (): Promise<Look<Server>> => {
      const server = await getServer(session, id);
      if (!server) return { done: false, failed: true, gone: true };
      const state = describeState(server);
      if (server.status === status && server.taskState === null)
        return { done: true, value: server };
      if ((server.status === 'ERROR' && status !== 'ERROR') || options.failWhen?.(server))
        return {
          done: false,
          failed: true,
          state,
          fault: describeFault(server) ?? 'Nova recorded no fault',
        };
      return { done: false, state };
    },
    options,
  );
}

/** Waits until Nova has no server `id` any more. A server that goes to ERROR instead fails with its fault. */
export async function waitForServerDeleted(
  session: OpenStackSession,
  id: string,
  options: WaitOptions = {},
): Promise<void> {
  await waitFor(
    { resource: 'server', id, wanted: 'deleted' },
    async (): Promise<Look<void>> => {
      const server = await getServer(session, id);
      if (!server) return { done: true, value: undefined };
      const state = describeState(server);
      if (server.status === 'ERROR' && server.taskState === null)
        return { done: false, failed: true, state, fault: describeFault(server) };
      return { done: false, state };
    },
    options,
  );
}

/** Attaches a Cinder volume to the server; Cinder shows it `attaching`, then `in-use`. */
export async function attachVolume(
  session: OpenStackSession,
  serverId: string,
  volumeId: string,
  options: { device?: string; tag?: string } = {},
): Promise<VolumeAttachment> {
  const { volumeAttachment } = await nova(session).post<{ volumeAttachment: VolumeAttachment }>(
    `/servers/${encodeURIComponent(serverId)}/os-volume_attachments`,
    { volumeAttachment: { volumeId, device: options.device, tag: options.tag } },
  );
  return volumeAttachment;
}

export async function listVolumeAttachments(
  session: OpenStackSession,
  serverId: string,
): Promise<VolumeAttachment[]> {
  const { volumeAttachments } = await nova(session).get<{ volumeAttachments: VolumeAttachment[] }>(
    `/servers/${encodeURIComponent(serverId)}/os-volume_attachments`,
  );
  return volumeAttachments;
}

/**
 * Detaches the volume from the server (Cinder shows it `detaching`, then `available`); true
 * when it was attached, false when Nova knows no such attachment (or server).
 */
export async function detachVolume(
  session: OpenStackSession,
  serverId: string,
  volumeId: string,
): Promise<boolean> {
  try {
    await nova(session).delete(
      `/servers/${encodeURIComponent(serverId)}/os-volume_attachments/${encodeURIComponent(volumeId)}`,
      { notFoundExpected: true },
    );
    return true;
  } catch (error) {
    if (isOpenStackError(error, 'NOT_FOUND')) return false;
    throw error;
  }
}

/** A flavor by id, or null. */
export async function getFlavor(session: OpenStackSession, id: string): Promise<Flavor | null> {
  try {
    const { flavor } = await nova(session).get<{ flavor: Flavor }>(
      `/flavors/${encodeURIComponent(id)}`,
      { notFoundExpected: true },
    );
    return flavor;
  } catch (error) {
    if (isOpenStackError(error, 'NOT_FOUND')) return null;
    throw error;
  }
}

/**
 * The flavor for a size: one with exactly these vCPUs and memory (and at least `minDiskGb`),
 * else the smallest that is at least as big (fewest vCPUs, then least memory), else null.
 */
export async function findFlavor(
  session: OpenStackSession,
  size: { vcpus: number; ramMb: number; minDiskGb?: number },
): Promise<Flavor | null> {
  const fits = (await listFlavors(session)).filter(
    (f) => f.vcpus >= size.vcpus && f.ram >= size.ramMb && f.disk >= (size.minDiskGb ?? 0),
  );
  const exact = fits.find((f) => f.vcpus === size.vcpus && f.ram === size.ramMb);
  if (exact) return exact;
  fits.sort((a, b) => a.vcpus - b.vcpus || a.ram - b.ram || a.disk - b.disk);
  return fits[0] ?? null;
}

/** Creates a flavor (admin). `id` defaults to one Nova makes. */
export async function createFlavor(
  session: OpenStackSession,
  flavor: {
    name: string;
    vcpus: number;
    ramMb: number;
    diskGb: number;
    id?: string;
    isPublic?: boolean;
  },
): Promise<Flavor> {
  const created = await nova(session).post<{ flavor: Flavor }>('/flavors', {
    flavor: {
      name: flavor.name,
      vcpus: flavor.vcpus,
      ram: flavor.ramMb,
      disk: flavor.diskGb,
      id: flavor.id,
      'os-flavor-access:is_public': flavor.isPublic ?? true,
    },
  });
  return created.flavor;
}

/** Deletes a flavor (admin); true when it existed. */
export async function deleteFlavor(session: OpenStackSession, id: string): Promise<boolean> {
  try {
    await nova(session).delete(`/flavors/${encodeURIComponent(id)}`, { notFoundExpected: true });
    return true;
  } catch (error) {
    if (isOpenStackError(error, 'NOT_FOUND')) return false;
    throw error;
  }
}
