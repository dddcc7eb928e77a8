// The OpenStack provider against the loopback OpenStack (`node scripts/coffer.mjs openstack
// start`): an instance's server, volume, port and SecGroup-<id> made through Nova, Cinder and
// Neutron, its two files in the user data, a create run again reusing them, allowed sources as
// Neutron rules, the guests' direct-stream port open to the guests group and its endpoint,
// extend, resize, reboot, delete leaving nothing, and what a crashed create
// leaves found by listServers and removed by deleteServer. The fake virt driver boots nothing:
// the guest's files are read back from Nova, not from a running guest.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isComputeError, type ServerSpec } from '@coffer/compute';
import { guestAgentConfigSchema, guestInfoSchema } from '@coffer/contracts';
import {
  KeystoneAuth,
  OpenStackSession,
  cinder,
  createSecurityGroup,
  createVolume,
  deleteSecurityGroup,
  getServer,
  keystone,
  listPorts,
  listSecurityGroups,
  listServers,
  listVolumes,
  neutron,
  nova,
  setPortSecurityGroups,
  stopServer,
  waitForServer,
  waitFor,
  waitForVolume,
} from '@coffer/openstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { filesOfUserData } from './injection';
import {
  GUESTS_GROUP,
  OpenStackComputeProvider,
  instanceTag,
  securityGroupName,
} from './openstack-provider';
import { RULE_CONTROL_PLANE, RULE_GUEST_STREAM, RULE_OPEN, RULE_SOURCE } from './rules';

const authUrl = process.env.OS_AUTH_URL ?? 'http://127.0.0.1:5000/v3';
// The token cache's clock, moved once (for one look) by a test: a token about to expire
let skewOnce = 0;
const session = new OpenStackSession({
  auth: new KeystoneAuth({
    authUrl,
    now: () => {
      const skew = skewOnce;
      skewOnce = 0;
      return Date.now() + skew;
    },
    credentials: {
      type: 'password',
      username: process.env.OS_USERNAME ?? 'admin',
      password: process.env.OS_PASSWORD ?? 'admin',
      projectName: process.env.OS_PROJECT_NAME ?? 'admin',
    },
  }),
});
const provider = new OpenStackComputeProvider({
  session,
  image: 'fake-image',
  network: 'private',
  controlPlaneCidrs: ['192.0.2.0/24'],
  timeoutMs: 180_000,
});
const timings: Record<string, number> = {};
const made: string[] = [];

beforeAll(async () => {
  const answer = await fetch(`${authUrl}/`).catch((error: unknown) => error as Error);
  if (answer instanceof Error)
    throw new Error(
      `no Keystone at ${authUrl} (${answer.message}): start the loopback OpenStack first, \`node scripts/coffer.mjs openstack start\``,
    );
});

// What a failed try left (e.g. a killed create's volume Cinder still holds `reserved`) is
// deleted at once, each delete bounded by the provider's own timeout (180 s): one slow leftover
// must not fail the file after its tests passed.
afterAll(async () => {
  await Promise.all(made.map((id) => provider.deleteServer(id).catch(() => {})));
  console.log(`openstack provider timings (ms): ${JSON.stringify(timings)}`);
}, 300_000);

async function timed<T>(name: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work();
  } finally {
    timings[name] = Date.now() - started;
  }
}

function specFor(instanceId: string): ServerSpec {
  return {
    instanceId,
    projectId: randomUUID(),
    flavor: { vcpus: 1, ramMb: 512 },
    volumeGb: 1,
    allowedSources: { isPublic: false, cidrs: ['10.20.0.0/24'] },
    guestInfo: {
      instanceId,
      projectId: randomUUID(),
      datastoreManager: 'mariadb',
      datastoreVersion: '10.11',
    },
    agentConfig: {
      redisUrl: 'redis://10.0.0.1:6379',
      rpcQueue: `guest.${instanceId}`,
      conductorStream: 'conductor',
      guestSecret: randomBytes(32).toString('base64'),
    },
  };
}

async function ingressRules(instanceId: string) {
  const [group] = await listSecurityGroups(session, { tags: [instanceTag(instanceId)] });
  return group!.rules
    .filter((r) => r.direction === 'ingress')
    .map((r) => `${r.description} ${r.remoteIpPrefix} ${r.portRangeMin}`)
    .sort();
}

async function nothingLeft(instanceId: string) {
  const tags = [instanceTag(instanceId)];
  expect(await listServers(session, { tags })).toEqual([]);
  expect(await listVolumes(session, { metadata: { 'coffer-instance': instanceId } })).toEqual([]);
  expect(await listSecurityGroups(session, { tags })).toEqual([]);
  expect(await listPorts(session, { tags })).toEqual([]);
}

describe('OpenStack compute provider', () => {
  it('creates an instance through Nova, Cinder and Neutron, changes it, and deletes it leaving nothing', async () => {
    const instanceId = randomUUID();
    made.push(instanceId);
    const spec = specFor(instanceId);
    const info = await timed('create→ACTIVE', () => provider.createServer(spec));
    expect(info).toMatchObject({
      serverId: instanceId,
      instanceId,
      port: 3306,
      status: 'ACTIVE',
      flavor: { vcpus: 1, ramMb: 512 },
      volumeGb: 1,
      allowedSources: { isPublic: false, cidrs: ['10.20.0.0/24'] },
    });
    expect(info.host).toMatch(/^10\.99\.0\./);

    // what Nova holds: one tagged server on a config drive, the guest's files in its user data
    const [server] = await listServers(session, { tags: [instanceTag(instanceId)] });
    expect(server).toMatchObject({ configDrive: true, flavor: { name: 'm1.tiny' } });
    const files = filesOfUserData(server!.userData!);
    expect(files.map((f) => `${f.path} ${f.permissions}`)).toEqual([
      '/etc/coffer/guest_info.json 0644',
      '/etc/coffer/guest-agent.json 0600',
    ]);
    expect(guestInfoSchema.parse(JSON.parse(files[0]!.content))).toEqual(spec.guestInfo);
    const agent = guestAgentConfigSchema.parse(JSON.parse(files[1]!.content));
    expect(agent).toMatchObject({
      ...spec.agentConfig,
      datastore: { bindAddress: '0.0.0.0', port: 3306, volumeDir: '/var/lib/coffer/data' },
    });
    // the volume attached at boot, the port in the instance's security group
    const [volume] = await listVolumes(session, { metadata: { 'coffer-instance': instanceId } });
    expect(volume).toMatchObject({ size: 1, status: 'in-use' });
    expect(server!.volumeIds).toEqual([volume!.id]);
    const [group] = await listSecurityGroups(session, { tags: [instanceTag(instanceId)] });
    expect(group!.name).toBe(securityGroupName(instanceId));
    const ports = await listPorts(session, { deviceId: server!.id });
    expect(ports.map((p) => p.securityGroupIds)).toEqual([[group!.id]]);
    expect(await ingressRules(instanceId)).toEqual([
      `${RULE_CONTROL_PLANE} 192.0.2.0/24 3306`,
      `${RULE_SOURCE} 10.20.0.0/24 3306`,
    ]);

    // a create run again reuses all of it
    const again = await timed('create again', () => provider.createServer(spec));
    expect(again).toEqual(info);
    expect(await listServers(session, { tags: [instanceTag(instanceId)] })).toHaveLength(1);

    // the provider's token about to expire mid-operation (its cache's clock moved to 4 min
    // before the expiry, once): the next call renews it, once, and goes on. (A token revoked
    // in Keystone is not seen by Neutron or Nova while their keystonemiddleware cache holds it.)
    const issued = session.auth.issued;
    const token = await session.auth.token();
    skewOnce = token.expiresAt.getTime() - Date.now() - 4 * 60_000;

    // allowed sources are the security group's rules
    await provider.setAllowedSources(instanceId, { isPublic: true, cidrs: [] });
    expect(session.auth.issued).toBe(issued + 1);
    expect((await session.auth.token()).id).not.toBe(token.id);
    expect(await ingressRules(instanceId)).toEqual([
      `${RULE_CONTROL_PLANE} 192.0.2.0/24 3306`,
      `${RULE_OPEN} 0.0.0.0/0 3306`,
      `${RULE_OPEN} ::/0 3306`,
    ]);
    expect((await provider.getServer(instanceId))!.allowedSources).toEqual({
      isPublic: true,
      cidrs: [],
    });
    const refused = await provider
      .setAllowedSources(instanceId, { isPublic: false, cidrs: ['0.0.0.0/0'] })
      .catch((e: unknown) => e);
    expect(isComputeError(refused, 'INVALID')).toBe(true);
    expect(await ingressRules(instanceId)).toHaveLength(3);
    await provider.setAllowedSources(instanceId, { isPublic: false, cidrs: ['fd00::/8'] });
    expect(await ingressRules(instanceId)).toEqual([
      `${RULE_CONTROL_PLANE} 192.0.2.0/24 3306`,
      `${RULE_SOURCE} fd00::/8 3306`,
    ]);

    // extend, online (Cinder extends the attached volume)
    expect(await timed('extend 1→2', () => provider.extendVolume(instanceId, 2))).toBe('online');
    expect(await provider.extendVolume(instanceId, 2)).toBe('unchanged');
    expect(
      isComputeError(
        await provider.extendVolume(instanceId, 1).catch((e: unknown) => e),
        'INVALID',
      ),
    ).toBe(true);

    // resize: Nova's smallest flavor that fits, confirmed; the same again does nothing
    expect(
      await timed('resize', () => provider.resizeServer(instanceId, { vcpus: 1, ramMb: 2048 })),
    ).toBe('restarted');
    expect(await provider.resizeServer(instanceId, { vcpus: 1, ramMb: 2048 })).toBe('in-place');
    expect((await getServer(session, server!.id))!.flavor.name).toBe('m1.small');

    await timed('reboot', () => provider.rebootServer(instanceId));
    const now = await provider.getServer(instanceId);
    expect(now).toMatchObject({
      status: 'ACTIVE',
      flavor: { vcpus: 1, ramMb: 2048 },
      volumeGb: 2,
      host: info.host,
    });
    expect((await provider.listServers()).map((s) => s.serverId)).toContain(instanceId);

    // a create run again starts a stopped server, and replaces one in ERROR (same volume, port, group)
    await stopServer(session, server!.id);
    await waitForServer(session, server!.id, 'SHUTOFF');
    expect((await provider.getServer(instanceId))!.status).toBe('SHUTOFF');
    expect((await provider.createServer(spec)).status).toBe('ACTIVE');
    await nova(session).post(`/servers/${server!.id}/action`, {
      'os-resetState': { state: 'error' },
    });
    expect((await provider.getServer(instanceId))!.status).toBe('ERROR');
    const replaced = await timed('create again over ERROR', () => provider.createServer(spec));
    expect(replaced).toMatchObject({ status: 'ACTIVE', host: info.host, volumeGb: 2 });
    const [second] = await listServers(session, { tags: [instanceTag(instanceId)] });
    expect(second!.id).not.toBe(server!.id);
    expect(second!.volumeIds).toEqual([volume!.id]);
    expect(await provider.ensureServerRunning(instanceId)).toEqual({ state: 'running' });

    await timed('delete', () => provider.deleteServer(instanceId));
    await nothingLeft(instanceId);
    await provider.deleteServer(instanceId); // idempotent
    expect(await provider.getServer(instanceId)).toBeNull();
    expect(await provider.ensureServerRunning(instanceId)).toEqual({ state: 'missing' });
    expect(
      isComputeError(await provider.rebootServer(instanceId).catch((e: unknown) => e), 'NOT_FOUND'),
    ).toBe(true);
  }, 600_000);

  it("opens the guest's stream port to the deployment's guests only, idempotently, and says where the guest listens", async () => {
    const streaming = new OpenStackComputeProvider({
      session,
      image: 'fake-image',
      network: 'private',
      controlPlaneCidrs: ['192.0.2.0/24'],
      streamPort: 13306,
      timeoutMs: 180_000,
    });
    const instanceId = randomUUID();
    made.push(instanceId);
    const spec = specFor(instanceId);
    const info = await timed('create with stream port', () => streaming.createServer(spec));
    const projectId = (await session.auth.token()).project?.id;
    const guests = await listSecurityGroups(session, { name: GUESTS_GROUP, projectId });
    expect(guests).toHaveLength(1);
    // the port in its own group and the guests group; the stream rule from the guests group only
    const [server] = await listServers(session, { tags: [instanceTag(instanceId)] });
    const [group] = await listSecurityGroups(session, { tags: [instanceTag(instanceId)] });
    const [port] = await listPorts(session, { deviceId: server!.id });
    expect([...port!.securityGroupIds].sort()).toEqual([group!.id, guests[0]!.id].sort());
    const streamRules = () =>
      listSecurityGroups(session, { tags: [instanceTag(instanceId)] }).then(([g]) =>
        g!.rules
          .filter((r) => r.portRangeMin === 13306 || r.portRangeMax === 13306)
          .map((r) => ({
            direction: r.direction,
            protocol: r.protocol,
            portRangeMin: r.portRangeMin,
            portRangeMax: r.portRangeMax,
            remoteIpPrefix: r.remoteIpPrefix,
            remoteGroupId: r.remoteGroupId,
            description: r.description,
          })),
      );
    const wanted = {
      direction: 'ingress',
      protocol: 'tcp',
      portRangeMin: 13306,
      portRangeMax: 13306,
      remoteIpPrefix: null,
      remoteGroupId: guests[0]!.id,
      description: RULE_GUEST_STREAM,
    };
    expect(await streamRules()).toEqual([wanted]);
    // the database port's rules are as without a stream port
    expect(await ingressRules(instanceId)).toEqual([
      `${RULE_CONTROL_PLANE} 192.0.2.0/24 3306`,
      `${RULE_GUEST_STREAM} null 13306`,
      `${RULE_SOURCE} 10.20.0.0/24 3306`,
    ]);
    // where its guest listens for a stream, as other guests reach it: its fixed address
    expect(await streaming.guestStreamEndpoint(instanceId)).toEqual({
      host: port!.fixedIps[0]!.ipAddress,
      port: 13306,
    });
    expect(info.host).toBe(port!.fixedIps[0]!.ipAddress);
    // a create run again, a change of sources and a new provider (the group found, not made): one rule
    await streaming.createServer(spec);
    await streaming.setAllowedSources(instanceId, { isPublic: true, cidrs: [] });
    const restarted = new OpenStackComputeProvider({
      session,
      image: 'fake-image',
      network: 'private',
      streamPort: 13306,
    });
    await restarted.setAllowedSources(instanceId, { isPublic: false, cidrs: [] });
    expect(await streamRules()).toEqual([wanted]);
    expect(await listSecurityGroups(session, { name: GUESTS_GROUP, projectId })).toHaveLength(1);
    // without a stream port: no endpoint; the instance's rule goes at its next change
    expect(await provider.guestStreamEndpoint(instanceId)).toBeNull();
    await provider.setAllowedSources(instanceId, { isPublic: false, cidrs: [] });
    expect(await streamRules()).toEqual([]);
    expect(await streaming.guestStreamEndpoint(randomUUID())).toBeNull();

    await streaming.deleteServer(instanceId);
    await nothingLeft(instanceId);
    // the guests group stays for the deployment's other guests
    expect(await listSecurityGroups(session, { name: GUESTS_GROUP, projectId })).toHaveLength(1);
  });

  it('brings a server made before the stream port up to date when its endpoint is asked for, and merges a duplicate guests group into the oldest', async () => {
    const streamingProvider = () =>
      new OpenStackComputeProvider({
        session,
        image: 'fake-image',
        network: 'private',
        streamPort: 13306,
        timeoutMs: 180_000,
      });
    const projectId = (await session.auth.token()).project?.id;
    // made as before the stream port (3974d3c): its port only in its group, no stream rule
    const instanceId = randomUUID();
    made.push(instanceId);
    const spec = specFor(instanceId);
    await provider.createServer(spec);
    const portOf = async () => {
      const [server] = await listServers(session, { tags: [instanceTag(instanceId)] });
      return (await listPorts(session, { deviceId: server!.id }))[0]!;
    };
    const [group] = await listSecurityGroups(session, { tags: [instanceTag(instanceId)] });
    expect((await portOf()).securityGroupIds).toEqual([group!.id]);
    expect(await ingressRules(instanceId)).not.toContain(`${RULE_GUEST_STREAM} null 13306`);

    const streaming = streamingProvider();
    const endpoint = await streaming.guestStreamEndpoint(instanceId);
    expect(endpoint).toEqual({ host: (await portOf()).fixedIps[0]!.ipAddress, port: 13306 });
    const guests = await listSecurityGroups(session, { name: GUESTS_GROUP, projectId });
    expect(guests).toHaveLength(1);
    expect([...(await portOf()).securityGroupIds].sort()).toEqual(
      [group!.id, guests[0]!.id].sort(),
    );
    const streamRuleIds = async () =>
      (await listSecurityGroups(session, { tags: [instanceTag(instanceId)] }))[0]!.rules
        .filter((r) => r.description === RULE_GUEST_STREAM)
        .map((r) => `${r.id} ${r.remoteGroupId} ${r.portRangeMin}`);
    const once = await streamRuleIds();
    expect(once).toEqual([expect.stringMatching(` ${guests[0]!.id} 13306$`)]);
    // again: nothing changes (the same rule, the same groups)
    await streaming.guestStreamEndpoint(instanceId);
    expect(await streamRuleIds()).toEqual(once);

    // a duplicate guests group (a create that saw only its own): the port in it instead of
    // the one; the next endpoint asked for, by a provider started now, merges it away
    const duplicate = await createSecurityGroup(session, { name: GUESTS_GROUP, tags: ['coffer'] });
    try {
      await setPortSecurityGroups(session, (await portOf()).id, [group!.id, duplicate.id]);
      await streamingProvider().guestStreamEndpoint(instanceId);
      expect([...(await portOf()).securityGroupIds].sort()).toEqual(
        [group!.id, guests[0]!.id].sort(),
      );
      expect(
        (await listSecurityGroups(session, { name: GUESTS_GROUP, projectId })).map((g) => g.id),
      ).toEqual([guests[0]!.id]);
      expect(await streamRuleIds()).toEqual(once);
    } finally {
      await deleteSecurityGroup(session, duplicate.id).catch(() => {});
    }
    // a create run again over a port made without the guests group: the port joins it
    await setPortSecurityGroups(session, (await portOf()).id, [group!.id]);
    await streaming.createServer(spec);
    expect([...(await portOf()).securityGroupIds].sort()).toEqual(
      [group!.id, guests[0]!.id].sort(),
    );
    await streaming.deleteServer(instanceId);
    await nothingLeft(instanceId);
  }, 600_000);

  it('lists what a crashed create left (no server) and deleteServer removes it', async () => {
    const instanceId = randomUUID();
    made.push(instanceId);
    // what createServer makes before the server, as if the worker died right after
    await createSecurityGroup(session, {
      name: securityGroupName(instanceId),
      tags: [instanceTag(instanceId), 'coffer'],
    });
    const volume = await createVolume(session, {
      size: 1,
      name: `coffer-${instanceId}`,
      metadata: { 'coffer-instance': instanceId },
    });
    await waitForVolume(session, volume.id, 'available');
    const orphan = (await provider.listServers()).find((s) => s.serverId === instanceId);
    expect(orphan).toMatchObject({ status: 'ERROR', volumeGb: 1 });
    expect(await provider.getServer(instanceId)).toBeNull();
    await provider.deleteServer(instanceId);
    await nothingLeft(instanceId);
    expect((await provider.listServers()).map((s) => s.serverId)).not.toContain(instanceId);
  }, 300_000);

  it('deleteServer frees a volume Nova reserved for a server it no longer has (reserved, listed by no volume attachment)', async () => {
    const instanceId = randomUUID();
    made.push(instanceId);
    const volume = await createVolume(session, {
      size: 1,
      name: `coffer-${instanceId}`,
      metadata: { 'coffer-instance': instanceId },
    });
    await waitForVolume(session, volume.id, 'available');
    // What Nova's attach does first (an attachment without a connector) for a server that is
    // then deleted before the volume is attached: Cinder holds the volume `reserved`.
    await cinder(session).post('/attachments', {
      attachment: { volume_uuid: volume.id, instance_uuid: randomUUID() },
    });
    const reserved = await waitForVolume(session, volume.id, 'reserved');
    expect(reserved.attachments).toEqual([]);
    await provider.deleteServer(instanceId);
    await nothingLeft(instanceId);
  }, 300_000);

  it('leaves nothing after reconciliation when the worker is killed mid-create, early or once the server exists', async () => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const child = new URL('../test/create-server-child.ts', import.meta.url).pathname;
    // kill a worker's create when `reached` says so; answers what OpenStack held then
    const killWhen = async (reached: (id: string) => Promise<boolean>) => {
      const instanceId = randomUUID();
      made.push(instanceId);
      const worker = spawn(process.execPath, ['--import', tsx, child, instanceId], {
        stdio: 'ignore',
      });
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      await waitFor(
        { resource: 'create', id: instanceId, wanted: 'the point to kill it at' },
        async () =>
          (await reached(instanceId)) ? { done: true, value: undefined } : { done: false },
        { timeoutMs: 120_000 },
      );
      worker.kill('SIGKILL');
      await exited;
      return instanceId;
    };
    const [early, late] = await Promise.all([
      // as soon as the first part exists (its security group, maybe still untagged)
      killWhen(
        async (id) =>
          (await listSecurityGroups(session, { name: securityGroupName(id) })).length > 0,
      ),
      // once Nova has the server (it goes on building it without the worker)
      killWhen(async (id) => (await listServers(session, { tags: [instanceTag(id)] })).length > 0),
    ]);
    // reconciliation: every instance the provider lists without a row is deleted
    const listed = (await provider.listServers()).map((s) => s.serverId);
    expect(listed).toEqual(expect.arrayContaining([early, late]));
    await Promise.all([provider.deleteServer(early), provider.deleteServer(late)]);
    await nothingLeft(early);
    await nothingLeft(late);
    // and by name: nothing untagged is left either
    expect(await listSecurityGroups(session, { name: securityGroupName(early) })).toEqual([]);
    expect(await listPorts(session, { name: `coffer-${late}` })).toEqual([]);
  }, 600_000);

  it("turns Nova's quota refusal into QUOTA naming Nova's words and request id, in a project of its own; that project's leftovers are not another project's provider's", async () => {
    const identity = keystone(session);
    const { project } = await identity.post<{ project: { id: string } }>('/projects', {
      project: { name: `coffer-quota-${randomUUID().slice(0, 8)}`, domain_id: 'default' },
    });
    const { roles } = await identity.get<{ roles: { id: string }[] }>('/roles', {
      query: { name: 'admin' },
    });
    const userId = (await session.auth.token()).user.id;
    await identity.put(`/projects/${project.id}/users/${userId}/roles/${roles[0]!.id}`);
    await nova(session).put(`/os-quota-sets/${project.id}`, { quota_set: { instances: 0 } });
    const scopedSession = new OpenStackSession({
      auth: new KeystoneAuth({
        authUrl,
        credentials: {
          type: 'password',
          username: process.env.OS_USERNAME ?? 'admin',
          password: process.env.OS_PASSWORD ?? 'admin',
          projectId: project.id,
        },
      }),
    });
    const scoped = new OpenStackComputeProvider({
      session: scopedSession,
      image: 'fake-image',
      network: 'private',
    });
    const spec = specFor(randomUUID());
    try {
      const refused = await scoped.createServer(spec).catch((e: unknown) => e);
      expect(isComputeError(refused, 'QUOTA')).toBe(true);
      expect((refused as Error).message).toMatch(
        new RegExp(
          `^create server for instance ${spec.instanceId}: POST compute /v2\\.1/servers: 403 Quota exceeded for instances.*\\(request req-[0-9a-f-]+\\)$`,
        ),
      );
      // What looks like an orphan in another project is not this provider's: Neutron lists
      // every project's groups to an admin, and reconciliation would delete them.
      const elsewhere = randomUUID();
      await createSecurityGroup(scopedSession, {
        name: securityGroupName(elsewhere),
        tags: [instanceTag(elsewhere), 'coffer'],
      });
      expect((await scoped.listServers()).map((s) => s.serverId)).toContain(elsewhere);
      expect((await provider.listServers()).map((s) => s.serverId)).not.toContain(elsewhere);
    } finally {
      await scoped.deleteServer(spec.instanceId);
      const { security_groups } = await neutron(session).get<{ security_groups: { id: string }[] }>(
        '/v2.0/security-groups',
        { query: { project_id: project.id } },
      );
      for (const group of security_groups)
        await neutron(session).delete(`/v2.0/security-groups/${group.id}`);
      await nova(session).delete(`/os-quota-sets/${project.id}`);
      await identity.request('PATCH', `/projects/${project.id}`, {
        json: { project: { enabled: false } },
      });
      await identity.delete(`/projects/${project.id}`);
    }
    await nothingLeft(spec.instanceId);
  }, 300_000);

  it('refuses what it cannot do as INVALID before asking OpenStack', async () => {
    const spec = specFor(randomUUID());
    for (const bad of [
      { ...spec, instanceId: 'not-a-uuid' },
      { ...spec, volumeGb: 1.5 },
      { ...spec, flavor: { vcpus: 0, ramMb: 512 } },
      { ...spec, allowedSources: { isPublic: false, cidrs: ['8.8.8.0/24'] } },
      { ...spec, agentConfig: { ...spec.agentConfig, guestSecret: 'short' } },
    ])
      expect(
        isComputeError(await provider.createServer(bad).catch((e: unknown) => e), 'INVALID'),
      ).toBe(true);
    const huge = await provider
      .createServer({ ...spec, flavor: { vcpus: 4096, ramMb: 512 } })
      .catch((e: unknown) => e);
    expect(isComputeError(huge, 'INVALID')).toBe(true);
    made.push(spec.instanceId);
    await nothingLeft(spec.instanceId);
  }, 300_000);
});
