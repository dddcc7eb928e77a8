/**
 * The bare side of the OpenStack benchmark: what a competent operator's script does to get a
 * Nova server with a Cinder volume and its own security group to ACTIVE, and to remove it
 * all, with nothing but `fetch` and the REST APIs. One token (fetched before anything is
 * timed), the image, network and flavor ids looked up once, calls in parallel wherever
 * OpenStack allows it, and every wait a poll at a fixed, short interval.
 */

/** The bare script's pause between two looks at a volume or a server. */
export const BARE_POLL_MS = 250;

export interface BareCloudOptions {
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  image: string;
  network: string;
  flavor: { vcpus: number; ramMb: number };
}

/** What one bare create made: the ids its delete needs. */
export interface BareServer {
  serverId: string;
  volumeId: string;
  portId: string;
  groupId: string;
}

interface CatalogEntry {
  type: string;
  endpoints: { interface: string; url: string }[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class BareCloud {
  /** Requests sent since the caller last set it to 0. */
  requests = 0;
  private token = '';
  private compute = '';
  private volume = '';
  private network = '';
  private imageId = '';
  private networkId = '';
  private flavorId = '';

  constructor(private readonly options: BareCloudOptions) {}

  /** The token, the endpoints, and the image, network and flavor ids: once, before any timing. */
  async init(): Promise<void> {
    const { options } = this;
    const answer = await fetch(`${options.authUrl}/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: {
              user: {
                name: options.username,
                domain: { name: 'Default' },
                password: options.password,
              },
            },
          },
          scope: { project: { name: options.projectName, domain: { name: 'Default' } } },
        },
      }),
    });
    if (!answer.ok) throw new Error(`Keystone refused the bare token: ${answer.status}`);
    this.token = answer.headers.get('x-subject-token') ?? '';
    const { token } = (await answer.json()) as { token: { catalog: CatalogEntry[] } };
    const endpoint = (...types: string[]) => {
      const entry = token.catalog.find((c) => types.includes(c.type));
      const url = entry?.endpoints.find((e) => e.interface === 'public')?.url;
      if (!url) throw new Error(`the catalog has no public ${types.join('/')} endpoint`);
      return url.replace(/\/+$/, '');
    };
    this.compute = endpoint('compute');
    this.volume = endpoint('block-storage', 'volumev3');
    this.network = endpoint('network');
    const image = endpoint('image');
    const [images, networks, flavors] = await Promise.all([
      this.json<{ images: { id: string }[] }>(
        `${image}/v2/images?name=${encodeURIComponent(options.image)}`,
      ),
      this.json<{ networks: { id: string }[] }>(
        `${this.network}/v2.0/networks?name=${encodeURIComponent(options.network)}`,
      ),
      this.json<{ flavors: { id: string; vcpus: number; ram: number }[] }>(
        `${this.compute}/flavors/detail`,
      ),
    ]);
    this.imageId = images.images[0]?.id ?? '';
    this.networkId = networks.networks[0]?.id ?? '';
    this.flavorId =
      flavors.flavors.find(
        (f) => f.vcpus === options.flavor.vcpus && f.ram === options.flavor.ramMb,
      )?.id ?? '';
    if (!this.imageId || !this.networkId || !this.flavorId)
      throw new Error('the bare script found no image, network or flavor');
  }

  /**
   * Group and volume at once; then the group's rule, the port in the group and the wait for
   * the volume at once; then the server (volume attached at boot, user data on a config
   * drive), polled until ACTIVE.
   */
  async create(
    id: string,
    spec: { volumeGb: number; sourceCidr: string; port: number; userData: string },
  ): Promise<BareServer> {
    const [{ security_group: group }, { volume }] = await Promise.all([
      this.json<{ security_group: { id: string } }>(`${this.network}/v2.0/security-groups`, {
        method: 'POST',
        body: { security_group: { name: `SecGroup-${id}`, description: 'bare benchmark' } },
      }),
      this.json<{ volume: { id: string } }>(`${this.volume}/volumes`, {
        method: 'POST',
        body: { volume: { size: spec.volumeGb, name: `bare-${id}` } },
      }),
    ]);
    const [, { port }] = await Promise.all([
      this.json(`${this.network}/v2.0/security-group-rules`, {
        method: 'POST',
        body: {
          security_group_rule: {
            security_group_id: group.id,
            direction: 'ingress',
            protocol: 'tcp',
            port_range_min: spec.port,
            port_range_max: spec.port,
            remote_ip_prefix: spec.sourceCidr,
          },
        },
      }),
      this.json<{ port: { id: string } }>(`${this.network}/v2.0/ports`, {
        method: 'POST',
        body: {
          port: { network_id: this.networkId, name: `bare-${id}`, security_groups: [group.id] },
        },
      }),
      this.until(`${this.volume}/volumes/${volume.id}`, (body: { volume: { status: string } }) =>
        settled(body.volume.status, 'available', ['error']),
      ),
    ]);
    const { server } = await this.json<{ server: { id: string } }>(`${this.compute}/servers`, {
      method: 'POST',
      nova: true,
      body: {
        server: {
          name: `bare-${id}`,
          flavorRef: this.flavorId,
          imageRef: this.imageId,
          networks: [{ port: port.id }],
          user_data: Buffer.from(spec.userData).toString('base64'),
          config_drive: true,
          metadata: { 'bench-id': id },
          tags: [`bench-${id}`],
          block_device_mapping_v2: [
            {
              boot_index: 0,
              uuid: this.imageId,
              source_type: 'image',
              destination_type: 'local',
              delete_on_termination: true,
            },
            {
              boot_index: -1,
              uuid: volume.id,
              source_type: 'volume',
              destination_type: 'volume',
              delete_on_termination: false,
            },
          ],
        },
      },
    });
    await this.until(
      `${this.compute}/servers/${server.id}`,
      (body: { server: { status: string } }) => settled(body.server.status, 'ACTIVE', ['ERROR']),
      true,
    );
    return { serverId: server.id, volumeId: volume.id, portId: port.id, groupId: group.id };
  }

  /** The server (polled until gone); then the port and the group, and the volume (polled until gone), at once. */
  async delete(made: BareServer): Promise<void> {
    await this.send(`${this.compute}/servers/${made.serverId}`, { method: 'DELETE', nova: true });
    await this.untilGone(`${this.compute}/servers/${made.serverId}`, true);
    await Promise.all([
      (async () => {
        await this.send(`${this.network}/v2.0/ports/${made.portId}`, { method: 'DELETE' });
        await this.send(`${this.network}/v2.0/security-groups/${made.groupId}`, {
          method: 'DELETE',
        });
      })(),
      (async () => {
        await this.until(
          `${this.volume}/volumes/${made.volumeId}`,
          (body: { volume: { status: string } }) =>
            settled(body.volume.status, 'available', ['error', 'error_deleting']),
        );
        await this.send(`${this.volume}/volumes/${made.volumeId}`, { method: 'DELETE' });
        await this.untilGone(`${this.volume}/volumes/${made.volumeId}`);
      })(),
    ]);
  }

  /** Whether anything named for `id` is left (servers, volumes, ports, groups): for the bench's own check. */
  async leftovers(id: string): Promise<string[]> {
    const [servers, volumes, ports, groups] = await Promise.all([
      this.json<{ servers: unknown[] }>(`${this.compute}/servers?name=${id}`, { nova: true }),
      this.json<{ volumes: { name: string }[] }>(`${this.volume}/volumes`),
      this.json<{ ports: { name: string }[] }>(`${this.network}/v2.0/ports`),
      this.json<{ security_groups: { name: string }[] }>(`${this.network}/v2.0/security-groups`),
    ]);
    const named = (list: { name: string }[]) => list.filter((r) => r.name.includes(id)).length;
    const left = {
      servers: servers.servers.length,
      volumes: named(volumes.volumes),
      ports: named(ports.ports),
      groups: named(groups.security_groups),
    };
    return Object.entries(left)
      .filter(([, n]) => n > 0)
      .map(([what, n]) => `${n} ${what}`);
  }

  // -------------------------------------------------------------- the few helpers a script has

  private async send(
    url: string,
    init: { method?: string; body?: unknown; nova?: boolean } = {},
  ): Promise<Response> {
    this.requests += 1;
    const answer = await fetch(url, {
      method: init.method ?? 'GET',
      headers: {
        'x-auth-token': this.token,
        'content-type': 'application/json',
        ...(init.nova ? { 'openstack-api-version': 'compute 2.56' } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    if (!answer.ok && !(init.method === 'DELETE' && answer.status === 404))
      throw new Error(`${init.method ?? 'GET'} ${url}: ${answer.status} ${await answer.text()}`);
    return answer;
  }

  private async json<T = unknown>(
    url: string,
    init: { method?: string; body?: unknown; nova?: boolean } = {},
  ): Promise<T> {
    return (await (await this.send(url, init)).json()) as T;
  }

  private async until<T>(url: string, isDone: (body: T) => boolean, nova = false): Promise<void> {
    while (!isDone(await this.json<T>(url, { nova }))) await sleep(BARE_POLL_MS);
  }

  private async untilGone(url: string, nova = false): Promise<void> {
    for (;;) {
      this.requests += 1;
      const answer = await fetch(url, {
        headers: {
          'x-auth-token': this.token,
          ...(nova ? { 'openstack-api-version': 'compute 2.56' } : {}),
        },
      });
      await answer.arrayBuffer();
      if (answer.status === 404) return;
      await sleep(BARE_POLL_MS);
    }
  }
}

function settled(status: string, wanted: string, failed: string[]): boolean {
  if (failed.includes(status)) throw new Error(`went to ${status} while waiting for ${wanted}`);
  return status === wanted;
}
