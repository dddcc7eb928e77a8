// Against the real loopback OpenStack (`node scripts/coffer.mjs openstack start`): Keystone
// tokens, catalog, renewal, application credentials, a real 409 and 404, Nova and Glance smoke
// tests. OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME override the defaults.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenStackError } from './errors';
import { KeystoneAuth, findEndpoint } from './keystone';
import type { OpenStackLogger } from './logger';
import { cinder, glance, keystone, listFlavors, listImages, neutron, nova } from './services';
import { OpenStackSession } from './session';

const authUrl = process.env.OS_AUTH_URL ?? 'http://127.0.0.1:5000/v3';
const admin = {
  type: 'password' as const,
  username: process.env.OS_USERNAME ?? 'admin',
  password: process.env.OS_PASSWORD ?? 'admin',
  projectName: process.env.OS_PROJECT_NAME ?? 'admin',
};
const timings: Record<string, number> = {};

function recorder() {
  const lines: { msg?: string; obj: Record<string, unknown> }[] = [];
  const at = (obj: object, msg?: string) =>
    lines.push({ msg, obj: obj as Record<string, unknown> });
  const logger: OpenStackLogger = { debug: at, info: at, warn: at, error: at };
  return { lines, logger };
}

beforeAll(async () => {
  const answer = await fetch(`${authUrl}/`).catch((error: unknown) => error as Error);
  if (answer instanceof Error)
    throw new Error(
      `no Keystone at ${authUrl} (${answer.message}): start the loopback OpenStack first, \`node scripts/coffer.mjs openstack start\``,
    );
});

afterAll(() => {
  console.log(`openstack timings (ms): ${JSON.stringify(timings)}`);
});

describe('Keystone', () => {
  it('issues a project-scoped token with a catalog, and the cache serves it again', async () => {
    const auth = new KeystoneAuth({ authUrl, credentials: admin });
    const t0 = Date.now();
    const token = await auth.token();
    timings.token = Date.now() - t0;
    expect(token.id).toMatch(/^gAAAA/); // fernet
    expect(token.project?.name).toBe(admin.projectName);
    expect(token.roles).toContain('admin');
    expect(token.expiresAt.getTime()).toBeGreaterThan(Date.now());
    expect(await auth.token()).toBe(token);
    expect(auth.issued).toBe(1);
  });

  it('finds each service in the catalog by type, alias, region and interface', async () => {
    const auth = new KeystoneAuth({ authUrl, credentials: admin });
    const { catalog } = await auth.token();
    expect(findEndpoint(catalog, 'compute')).toBe('http://127.0.0.1:8774/v2.1');
    expect(findEndpoint(catalog, 'compute', { region: 'RegionOne', interface: 'internal' })).toBe(
      'http://127.0.0.1:8774/v2.1',
    );
    const project = (await auth.token()).project!.id;
    // Cinder answers to block-storage and volumev3 in this catalog, the project id filled in
    expect(findEndpoint(catalog, 'block-storage')).toBe(`http://127.0.0.1:8776/v3/${project}`);
    expect(findEndpoint(catalog, 'volume')).toBe(`http://127.0.0.1:8776/v3/${project}`);
    expect(findEndpoint(catalog, 'object-store')).toBe(`http://127.0.0.1:8080/v1/AUTH_${project}`);
    expect(findEndpoint(catalog, 'image')).toBe('http://127.0.0.1:9292');
    expect(() => findEndpoint(catalog, 'compute', { region: 'Elsewhere' })).toThrow(
      /no public endpoint in region Elsewhere/,
    );
    expect(() => findEndpoint(catalog, 'database')).toThrow(/catalog has no database service/);
  });

  it('renews a token that is about to expire before using it', async () => {
    // The cache's clock is moved to four minutes before the token's expiry (inside the default
    // five-minute window), for one look; Keystone's clock does not move, so neither does the
    // next token's expiry: the clock comes back once the renewal is done.
    let skew = 0;
    const auth = new KeystoneAuth({ authUrl, credentials: admin, now: () => Date.now() + skew });
    const session = new OpenStackSession({ auth });
    const first = await auth.token();
    await listFlavors(session);
    expect(auth.issued).toBe(1);
    skew = first.expiresAt.getTime() - Date.now() - 4 * 60_000;
    const second = await auth.token();
    skew = 0;
    expect(auth.issued).toBe(2);
    expect(second.id).not.toBe(first.id);
    // Keystone's expiries have whole seconds: two tokens a moment apart may share one
    expect(second.expiresAt.getTime()).toBeGreaterThanOrEqual(first.expiresAt.getTime());
    await listFlavors(session);
    expect(await auth.token()).toBe(second);
    expect(auth.issued).toBe(2);
  });

  it('renews a token the cloud revoked mid-operation (401), once', async () => {
    const { lines, logger } = recorder();
    const auth = new KeystoneAuth({ authUrl, credentials: admin });
    const session = new OpenStackSession({ auth, logger });
    const identity = keystone(session);
    const first = await auth.token();
    // revoke the very token the cache holds
    await identity.delete('/auth/tokens', { headers: { 'x-subject-token': first.id } });
    const projects = await identity.get<{ projects: { name: string }[] }>('/auth/projects');
    expect(projects.projects.map((p) => p.name)).toContain(admin.projectName);
    expect(auth.issued).toBe(2);
    expect((await auth.token()).id).not.toBe(first.id);
    expect(lines.some((l) => l.msg === 'openstack token refused, renewing it')).toBe(true);
  });

  it("refuses wrong credentials with UNAUTHORIZED and Keystone's message", async () => {
    const auth = new KeystoneAuth({ authUrl, credentials: { ...admin, password: 'wrong' } });
    const error = (await auth.token().catch((e: unknown) => e)) as OpenStackError;
    expect(error).toBeInstanceOf(OpenStackError);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', status: 401, service: 'identity' });
    expect(error.requestId).toMatch(/^req-/);
    expect(error.serviceMessage).toMatch(/authentication/i);
  });

  it('authenticates with an application credential', async () => {
    const auth = new KeystoneAuth({ authUrl, credentials: admin });
    const identity = keystone(new OpenStackSession({ auth }));
    const user = (await auth.token()).user.id;
    const created = await identity.post<{ application_credential: { id: string; secret: string } }>(
      `/users/${user}/application_credentials`,
      { application_credential: { name: `coffer-test-${randomUUID().slice(0, 8)}` } },
    );
    const { id, secret } = created.application_credential;
    try {
      const appAuth = new KeystoneAuth({
        authUrl,
        credentials: { type: 'application_credential', id, secret },
      });
      const token = await appAuth.token();
      expect(token.project?.name).toBe(admin.projectName);
      const flavors = await listFlavors(new OpenStackSession({ auth: appAuth }));
      expect(flavors.map((f) => f.name)).toContain('m1.tiny');
      await expect(
        new KeystoneAuth({
          authUrl,
          credentials: { type: 'application_credential', id, secret: 'no' },
        }).token(),
      ).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    } finally {
      await identity.delete(`/users/${user}/application_credentials/${id}`);
    }
  });
});

describe('request core against the real services', () => {
  it("retries Keystone's real 409 (a duplicate project) with backoff, then says CONFLICT with its request id", async () => {
    const { lines, logger } = recorder();
    const auth = new KeystoneAuth({ authUrl, credentials: admin });
    const identity = keystone(
      new OpenStackSession({ auth, logger, retry: { attempts: 3, baseDelayMs: 20 } }),
    );
    const name = `coffer-dup-${randomUUID().slice(0, 8)}`;
    const { project } = await identity.post<{ project: { id: string } }>('/projects', {
      project: { name, domain_id: 'default' },
    });
    try {
      const error = (await identity
        .post('/projects', { project: { name, domain_id: 'default' } })
        .catch((e: unknown) => e)) as OpenStackError;
      expect(error).toBeInstanceOf(OpenStackError);
      expect(error).toMatchObject({ code: 'CONFLICT', status: 409, serviceErrorType: 'Conflict' });
      expect(error.requestId).toMatch(/^req-/);
      expect(error.serviceMessage).toMatch(/conflict|duplicate/i);
      expect(lines.filter((l) => l.msg === 'openstack request refused, retrying')).toHaveLength(2);
    } finally {
      await identity.request('PATCH', `/projects/${project.id}`, {
        json: { project: { enabled: false } },
      });
      await identity.delete(`/projects/${project.id}`);
    }
  });

  it("maps Nova's 404 to NOT_FOUND with Nova's message and request id", async () => {
    const session = new OpenStackSession({
      auth: new KeystoneAuth({ authUrl, credentials: admin }),
    });
    const missing = randomUUID();
    const error = (await nova(session)
      .get(`/servers/${missing}`)
      .catch((e: unknown) => e)) as OpenStackError;
    expect(error).toMatchObject({ code: 'NOT_FOUND', status: 404, service: 'compute' });
    expect(error.serviceMessage).toContain(missing);
    expect(error.requestId).toMatch(/^req-/);
    expect(error.message).toContain(error.requestId);
  });

  it('speaks to Nova and Cinder each at its own microversion in one session', async () => {
    const session = new OpenStackSession({
      auth: new KeystoneAuth({ authUrl, credentials: admin }),
    });
    const servers = await nova(session).request('GET', '/servers');
    expect(servers.headers.get('openstack-api-version')).toBe('compute 2.56');
    const volumes = await cinder(session).request('GET', '/volumes');
    expect(volumes.headers.get('openstack-api-version')).toBe('volume 3.59');
    // a compute header sent to Cinder is refused: the reason the versions are per service
    const refused = await cinder(session)
      .request('GET', '/volumes', { headers: { 'openstack-api-version': 'compute 2.56' } })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'INVALID', status: 400 });
  });
});

describe('quota', () => {
  it("turns Neutron's quota refusal into QUOTA at once (no retries), in a project of its own", async () => {
    const auth = new KeystoneAuth({ authUrl, credentials: admin });
    const adminSession = new OpenStackSession({ auth });
    const identity = keystone(adminSession);
    const name = `coffer-quota-${randomUUID().slice(0, 8)}`;
    const { project } = await identity.post<{ project: { id: string } }>('/projects', {
      project: { name, domain_id: 'default' },
    });
    const userId = (await auth.token()).user.id;
    const { roles } = await identity.get<{ roles: { id: string }[] }>('/roles', {
      query: { name: 'admin' },
    });
    await identity.put(`/projects/${project.id}/users/${userId}/roles/${roles[0]!.id}`);
    const { lines, logger } = recorder();
    const scoped = new OpenStackSession({
      auth: new KeystoneAuth({
        authUrl,
        credentials: { ...admin, projectName: undefined, projectId: project.id },
      }),
      logger,
    });
    try {
      await neutron(adminSession).put(`/v2.0/quotas/${project.id}`, {
        quota: { security_group: 1 },
      });
      // the project's default security group takes the one allowed
      await neutron(scoped).get('/v2.0/security-groups');
      const error = (await neutron(scoped)
        .post<{ security_group: { id: string } }>('/v2.0/security-groups', {
          security_group: { name: 'one-too-many' },
        })
        .catch((e: unknown) => e)) as OpenStackError;
      expect(error).toBeInstanceOf(OpenStackError);
      expect(error).toMatchObject({
        code: 'QUOTA',
        status: 409,
        service: 'network',
        serviceErrorType: 'OverQuota',
      });
      expect(error.serviceMessage).toMatch(/quota exceeded/i);
      expect(error.requestId).toMatch(/^req-/);
      expect(lines.filter((l) => l.msg === 'openstack request refused, retrying')).toEqual([]);
    } finally {
      const { security_groups } = await neutron(adminSession).get<{
        security_groups: { id: string }[];
      }>('/v2.0/security-groups', { query: { project_id: project.id } });
      for (const sg of security_groups)
        await neutron(adminSession).delete(`/v2.0/security-groups/${sg.id}`);
      await neutron(adminSession).delete(`/v2.0/quotas/${project.id}`);
      await identity.request('PATCH', `/projects/${project.id}`, {
        json: { project: { enabled: false } },
      });
      await identity.delete(`/projects/${project.id}`);
    }
  });
});

describe('smoke', () => {
  const session = () =>
    new OpenStackSession({ auth: new KeystoneAuth({ authUrl, credentials: admin }) });

  it('Nova lists the flavors', async () => {
    const flavors = await listFlavors(session());
    expect(flavors.find((f) => f.name === 'm1.tiny')).toMatchObject({
      vcpus: 1,
      ram: 512,
      disk: 1,
    });
  });

  it('Glance lists images, by name', async () => {
    const s = session();
    const images = await listImages(s, { name: 'fake-image' });
    expect(images).toHaveLength(1);
    expect(images[0]).toMatchObject({ name: 'fake-image', status: 'active' });
    expect(await listImages(s, { name: `nothing-${randomUUID()}` })).toEqual([]);
    expect(
      (await glance(s).get<{ images: unknown[] }>('/v2/images')).images.length,
    ).toBeGreaterThan(0);
  });

  it('Cinder creates a volume, extends it (the fake driver with extend) and deletes it', async () => {
    const s = session();
    const { volume } = await cinder(s).post<{ volume: { id: string } }>('/volumes', {
      volume: { size: 1, name: `coffer-smoke-${randomUUID().slice(0, 8)}` },
    });
    const until = async (want: (v: { status: string; size: number }) => boolean) => {
      for (;;) {
        const { volume: v } = await cinder(s).get<{ volume: { status: string; size: number } }>(
          `/volumes/${volume.id}`,
        );
        if (v.status.startsWith('error')) throw new Error(`volume ${volume.id} is ${v.status}`);
        if (want(v)) return v;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    try {
      await until((v) => v.status === 'available');
      await cinder(s).post(`/volumes/${volume.id}/action`, { 'os-extend': { new_size: 2 } });
      expect(await until((v) => v.status === 'available' && v.size === 2)).toMatchObject({
        size: 2,
      });
    } finally {
      await cinder(s).delete(`/volumes/${volume.id}`);
    }
  });

  it('Swift stores and returns an object under a Keystone token', async () => {
    const s = session();
    const swift = s.service('object-store');
    const container = `coffer-smoke-${randomUUID().slice(0, 8)}`;
    await swift.request('PUT', `/${container}`);
    try {
      const put = await swift.request('PUT', `/${container}/hello.txt`, {
        body: 'hello',
        headers: { 'content-type': 'text/plain', 'x-object-meta-lsn': '7' },
      });
      expect(put.status).toBe(201);
      expect(put.headers.get('etag')).toBe('5d41402abc4b2a76b9719d911017c592');
      expect(put.requestId).toMatch(/^tx/); // Swift's transaction id
      const got = await swift.request<string>('GET', `/${container}/hello.txt`);
      expect(got.body).toBe('hello');
      expect(got.headers.get('x-object-meta-lsn')).toBe('7');
    } finally {
      await swift.delete(`/${container}/hello.txt`).catch(() => {});
      await swift.delete(`/${container}`);
    }
  });

  it('Nova boots a server on the private network to ACTIVE, and deletes it', async () => {
    const s = session();
    const [image] = await listImages(s, { name: 'fake-image' });
    const { networks } = await neutron(s).get<{ networks: { id: string }[] }>('/v2.0/networks', {
      query: { name: 'private' },
    });
    const t0 = Date.now();
    const { server } = await nova(s).post<{ server: { id: string } }>('/servers', {
      server: {
        name: `coffer-smoke-${randomUUID().slice(0, 8)}`,
        imageRef: image!.id,
        flavorRef: '1',
        networks: [{ uuid: networks[0]!.id }],
        tags: ['coffer-smoke'],
      },
    });
    try {
      let status = '';
      while (status !== 'ACTIVE') {
        ({
          server: { status },
        } = await nova(s).get<{ server: { status: string } }>(`/servers/${server.id}`));
        if (status === 'ERROR') throw new Error(`server ${server.id} went to ERROR`);
        if (status !== 'ACTIVE') await new Promise((resolve) => setTimeout(resolve, 200));
      }
      timings.firstServerActive = Date.now() - t0;
      const tagged = await nova(s).get<{ servers: { id: string }[] }>('/servers', {
        query: { tags: 'coffer-smoke' },
      });
      expect(tagged.servers.map((x) => x.id)).toContain(server.id);
    } finally {
      await nova(s).delete(`/servers/${server.id}`);
      for (;;) {
        const gone = await nova(s)
          .get(`/servers/${server.id}`)
          .then(() => false)
          .catch((e: unknown) => e instanceof OpenStackError && e.code === 'NOT_FOUND');
        if (gone) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }, 120_000);
});
