import { isOpenStackError } from './errors';
import { neutron } from './services';
import type { OpenStackSession } from './session';

/**
 * Neutron (network v2.0, no microversions): networks by name, security groups and their rules,
 * ports, and tags on any of them (the `standard-attr-tag` extension). Lists filter on the
 * server's side: by name, by tags (all of them) or tags-any, by device for ports.
 */

export interface Network {
  id: string;
  name: string;
  status: string;
  shared: boolean;
  external: boolean;
  subnetIds: string[];
  tags: string[];
  projectId: string;
}

export type Direction = 'ingress' | 'egress';

export interface SecurityGroupRule {
  id: string;
  securityGroupId: string;
  direction: Direction;
  ethertype: 'IPv4' | 'IPv6';
  /** `tcp`, `udp`, `icmp`, a number, or null for any. */
  protocol: string | null;
  portRangeMin: number | null;
  portRangeMax: number | null;
  remoteIpPrefix: string | null;
  remoteGroupId: string | null;
  description: string;
}

export interface SecurityGroup {
  id: string;
  name: string;
  description: string;
  tags: string[];
  projectId: string;
  rules: SecurityGroupRule[];
  /** When Neutron made it (ISO 8601, to the second); null when it does not say. */
  createdAt: string | null;
}

export interface Port {
  id: string;
  name: string;
  networkId: string;
  /** The server (or router, DHCP agent…) using it; '' when free. */
  deviceId: string;
  deviceOwner: string;
  status: string;
  macAddress: string;
  fixedIps: { subnetId: string; ipAddress: string }[];
  securityGroupIds: string[];
  tags: string[];
  projectId: string;
}

/** Neutron's collections that carry tags. */
export type TaggedResource =
  'networks' | 'subnets' | 'ports' | 'routers' | 'security-groups' | 'floatingips' | 'subnetpools';

export interface TagFilter {
  /** Resources with every one of these tags. */
  tags?: readonly string[];
  /** Resources with at least one of these tags. */
  tagsAny?: readonly string[];
}

function tagQuery(filter: TagFilter) {
  return {
    tags: filter.tags?.length ? filter.tags.join(',') : undefined,
    'tags-any': filter.tagsAny?.length ? filter.tagsAny.join(',') : undefined,
  };
}

async function deleted(call: Promise<unknown>): Promise<boolean> {
  try {
    await call;
    return true;
  } catch (error) {
    if (isOpenStackError(error, 'NOT_FOUND')) return false;
    throw error;
  }
}

async function orNull<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (error) {
    if (isOpenStackError(error, 'NOT_FOUND')) return null;
    throw error;
  }
}

// ---------------------------------------------------------------- networks

interface RawNetwork {
  id: string;
  name: string;
  status: string;
  shared: boolean;
  'router:external'?: boolean;
  subnets?: string[];
  tags?: string[];
  project_id: string;
}

function toNetwork(raw: RawNetwork): Network {
  return {
    id: raw.id,
    name: raw.name,
    status: raw.status,
    shared: raw.shared,
    external: raw['router:external'] ?? false,
    subnetIds: raw.subnets ?? [],
    tags: raw.tags ?? [],
    projectId: raw.project_id,
  };
}

export async function listNetworks(
  session: OpenStackSession,
  filter: TagFilter & { name?: string; shared?: boolean } = {},
): Promise<Network[]> {
  const { networks } = await neutron(session).get<{ networks: RawNetwork[] }>('/v2.0/networks', {
    query: { name: filter.name, shared: filter.shared, ...tagQuery(filter) },
  });
  return networks.map(toNetwork);
}

/**
 * The network named `name` (names are not unique in Neutron: several is INVALID, none null).
 */
export async function findNetwork(
  session: OpenStackSession,
  name: string,
): Promise<Network | null> {
  const networks = await listNetworks(session, { name });
  if (networks.length > 1)
    throw new TypeError(
      `${networks.length} networks are named ${name} (${networks.map((n) => n.id).join(', ')}): name one by id`,
    );
  return networks[0] ?? null;
}

// ---------------------------------------------------------------- security groups and rules

interface RawRule {
  id: string;
  security_group_id: string;
  direction: Direction;
  ethertype: 'IPv4' | 'IPv6';
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  description?: string | null;
}

interface RawSecurityGroup {
  id: string;
  name: string;
  description: string;
  tags?: string[];
  project_id: string;
  security_group_rules?: RawRule[];
  created_at?: string | null;
}

function toRule(raw: RawRule): SecurityGroupRule {
  return {
    id: raw.id,
    securityGroupId: raw.security_group_id,
    direction: raw.direction,
    ethertype: raw.ethertype,
    protocol: raw.protocol,
    portRangeMin: raw.port_range_min,
    portRangeMax: raw.port_range_max,
    remoteIpPrefix: raw.remote_ip_prefix,
    remoteGroupId: raw.remote_group_id,
    description: raw.description ?? '',
  };
}

function toSecurityGroup(raw: RawSecurityGroup): SecurityGroup {
  return {
    id: raw.id,
    name: raw.name,
    description: raw.description,
    tags: raw.tags ?? [],
    projectId: raw.project_id,
    rules: (raw.security_group_rules ?? []).map(toRule),
    createdAt: raw.created_at ?? null,
  };
}

/**
 * Creates a security group (Neutron adds its two egress rules), then tags it. Not atomic: a
 * group created whose tagging failed is deleted again before the error is thrown.
 */
export async function createSecurityGroup(
  session: OpenStackSession,
  request: { name: string; description?: string; tags?: readonly string[] },
): Promise<SecurityGroup> {
  const { security_group } = await neutron(session).post<{ security_group: RawSecurityGroup }>(
    '/v2.0/security-groups',
    { security_group: { name: request.name, description: request.description ?? '' } },
  );
  const group = toSecurityGroup(security_group);
  if (!request.tags?.length) return group;
  try {
    group.tags = await setTags(session, 'security-groups', group.id, request.tags);
  } catch (error) {
    await deleteSecurityGroup(session, group.id).catch(() => {});
    throw error;
  }
  return group;
}

export async function getSecurityGroup(
  session: OpenStackSession,
  id: string,
): Promise<SecurityGroup | null> {
  const answer = await orNull(
    neutron(session).get<{ security_group: RawSecurityGroup }>(
      `/v2.0/security-groups/${encodeURIComponent(id)}`,
      { notFoundExpected: true },
    ),
  );
  return answer && toSecurityGroup(answer.security_group);
}

export async function listSecurityGroups(
  session: OpenStackSession,
  filter: TagFilter & { name?: string; projectId?: string } = {},
): Promise<SecurityGroup[]> {
  const { security_groups } = await neutron(session).get<{ security_groups: RawSecurityGroup[] }>(
    '/v2.0/security-groups',
    { query: { name: filter.name, project_id: filter.projectId, ...tagQuery(filter) } },
  );
  return security_groups.map(toSecurityGroup);
}

/**
 * Deletes the group and its rules; true when it existed. A group still on a port is refused
 * (409 SecurityGroupInUse, retried a while by the request core: Nova frees a deleted
 * server's ports asynchronously), then CONFLICT.
 */
export async function deleteSecurityGroup(session: OpenStackSession, id: string): Promise<boolean> {
  return deleted(
    neutron(session).delete(`/v2.0/security-groups/${encodeURIComponent(id)}`, {
      notFoundExpected: true,
    }),
  );
}

export interface CreateRuleRequest {
  securityGroupId: string;
  direction: Direction;
  /** Default IPv4, or IPv6 when `remoteIpPrefix` is an IPv6 prefix. */
  ethertype?: 'IPv4' | 'IPv6';
  protocol?: string;
  portRangeMin?: number;
  portRangeMax?: number;
  remoteIpPrefix?: string;
  remoteGroupId?: string;
  description?: string;
}

/**
 * Adds a rule to a security group. Idempotent: when Neutron already has the same rule
 * (409 SecurityGroupRuleExists, not retried), that rule is answered.
 */
export async function createSecurityGroupRule(
  session: OpenStackSession,
  request: CreateRuleRequest,
): Promise<SecurityGroupRule> {
  const ethertype = request.ethertype ?? (request.remoteIpPrefix?.includes(':') ? 'IPv6' : 'IPv4');
  try {
    const { security_group_rule } = await neutron(session).post<{ security_group_rule: RawRule }>(
      '/v2.0/security-group-rules',
      {
        security_group_rule: {
          security_group_id: request.securityGroupId,
          direction: request.direction,
          ethertype,
          protocol: request.protocol,
          port_range_min: request.portRangeMin,
          port_range_max: request.portRangeMax,
          remote_ip_prefix: request.remoteIpPrefix,
          remote_group_id: request.remoteGroupId,
          description: request.description,
        },
      },
      { retry: { statuses: [429, 503] } },
    );
    return toRule(security_group_rule);
  } catch (error) {
    const existing =
      isOpenStackError(error, 'CONFLICT') && error.serviceErrorType === 'SecurityGroupRuleExists'
        ? /Rule id is ([0-9a-f-]{36})/i.exec(error.serviceMessage)?.[1]
        : undefined;
    if (!existing) throw error;
    const { security_group_rule } = await neutron(session).get<{ security_group_rule: RawRule }>(
      `/v2.0/security-group-rules/${existing}`,
    );
    return toRule(security_group_rule);
  }
}

/** Deletes a rule; true when it existed. */
export async function deleteSecurityGroupRule(
  session: OpenStackSession,
  id: string,
): Promise<boolean> {
  return deleted(
    neutron(session).delete(`/v2.0/security-group-rules/${encodeURIComponent(id)}`, {
      notFoundExpected: true,
    }),
  );
}

// ---------------------------------------------------------------- ports

interface RawPort {
  id: string;
  name: string;
  network_id: string;
  device_id: string;
  device_owner: string;
  status: string;
  mac_address: string;
  fixed_ips?: { subnet_id: string; ip_address: string }[];
  security_groups?: string[];
  tags?: string[];
  project_id: string;
}

function toPort(raw: RawPort): Port {
  return {
    id: raw.id,
    name: raw.name,
    networkId: raw.network_id,
    deviceId: raw.device_id,
    deviceOwner: raw.device_owner,
    status: raw.status,
    macAddress: raw.mac_address,
    fixedIps: (raw.fixed_ips ?? []).map((ip) => ({
      subnetId: ip.subnet_id,
      ipAddress: ip.ip_address,
    })),
    securityGroupIds: raw.security_groups ?? [],
    tags: raw.tags ?? [],
    projectId: raw.project_id,
  };
}

/**
 * Creates a port (then tags it; a port whose tagging failed is deleted again). Give it to
 * `createServer` as `{ port }`: the server then uses this port's security groups, and Nova
 * leaves the port behind when the server is deleted (delete it with `deletePort`).
 */
export async function createPort(
  session: OpenStackSession,
  request: {
    networkId: string;
    name?: string;
    securityGroupIds?: readonly string[];
    fixedIps?: readonly { subnetId?: string; ipAddress?: string }[];
    tags?: readonly string[];
  },
): Promise<Port> {
  const { port } = await neutron(session).post<{ port: RawPort }>('/v2.0/ports', {
    port: {
      network_id: request.networkId,
      name: request.name,
      security_groups: request.securityGroupIds,
      fixed_ips: request.fixedIps?.map((ip) => ({
        subnet_id: ip.subnetId,
        ip_address: ip.ipAddress,
      })),
    },
  });
  const created = toPort(port);
  if (!request.tags?.length) return created;
  try {
    created.tags = await setTags(session, 'ports', created.id, request.tags);
  } catch (error) {
    await deletePort(session, created.id).catch(() => {});
    throw error;
  }
  return created;
}

export async function getPort(session: OpenStackSession, id: string): Promise<Port | null> {
  const answer = await orNull(
    neutron(session).get<{ port: RawPort }>(`/v2.0/ports/${encodeURIComponent(id)}`, {
      notFoundExpected: true,
    }),
  );
  return answer && toPort(answer.port);
}

export async function listPorts(
  session: OpenStackSession,
  filter: TagFilter & {
    deviceId?: string;
    networkId?: string;
    name?: string;
    projectId?: string;
  } = {},
): Promise<Port[]> {
  const { ports } = await neutron(session).get<{ ports: RawPort[] }>('/v2.0/ports', {
    query: {
      device_id: filter.deviceId,
      network_id: filter.networkId,
      name: filter.name,
      project_id: filter.projectId,
      ...tagQuery(filter),
    },
  });
  return ports.map(toPort);
}

/** Replaces the port's security groups. */
export async function setPortSecurityGroups(
  session: OpenStackSession,
  id: string,
  securityGroupIds: readonly string[],
): Promise<Port> {
  const { port } = await neutron(session).put<{ port: RawPort }>(
    `/v2.0/ports/${encodeURIComponent(id)}`,
    { port: { security_groups: securityGroupIds } },
  );
  return toPort(port);
}

/** Deletes a port; true when it existed. */
export async function deletePort(session: OpenStackSession, id: string): Promise<boolean> {
  return deleted(
    neutron(session).delete(`/v2.0/ports/${encodeURIComponent(id)}`, { notFoundExpected: true }),
  );
}

// ---------------------------------------------------------------- tags

/** Replaces every tag of a resource; answers the tags it now has. */
export async function setTags(
  session: OpenStackSession,
  resource: TaggedResource,
  id: string,
  tags: readonly string[],
): Promise<string[]> {
  const answer = await neutron(session).put<{ tags: string[] }>(
    `/v2.0/${resource}/${encodeURIComponent(id)}/tags`,
    { tags },
  );
  return answer.tags;
}

export async function getTags(
  session: OpenStackSession,
  resource: TaggedResource,
  id: string,
): Promise<string[]> {
  return (
    await neutron(session).get<{ tags: string[] }>(
      `/v2.0/${resource}/${encodeURIComponent(id)}/tags`,
    )
  ).tags;
}

/** Adds one tag (idempotent). */
export async function addTag(
  session: OpenStackSession,
  resource: TaggedResource,
  id: string,
  tag: string,
): Promise<void> {
  await neutron(session).request(
    'PUT',
    `/v2.0/${resource}/${encodeURIComponent(id)}/tags/${encodeURIComponent(tag)}`,
  );
}

/** Removes one tag; true when the resource had it. */
export async function removeTag(
  session: OpenStackSession,
  resource: TaggedResource,
  id: string,
  tag: string,
): Promise<boolean> {
  return deleted(
    neutron(session).delete(
      `/v2.0/${resource}/${encodeURIComponent(id)}/tags/${encodeURIComponent(tag)}`,
      { notFoundExpected: true },
    ),
  );
}
