// Nova against the loopback OpenStack (fake virt driver; Neutron and Cinder real): a server
// the way the provider will make one (tagged, with metadata, user data, an injected file, a
// config drive, its own security group and a Cinder volume attached through Nova), found by
// tag, its volume extended in use, rebooted, resized and confirmed, detached, deleted, and
// nothing of it left; a server Nova cannot place, and a resize it cannot place, fail the wait
// with Nova's fault.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSession, cleanUp, requireCloud, uniqueName } from '../test/cloud';
import {
  createVolume,
  deleteAttachment,
  deleteVolume,
  getVolume,
  extendVolume,
  listVolumes,
  waitForVolume,
  waitForVolumeDeleted,
} from './cinder';
import {
  createSecurityGroup,
  createSecurityGroupRule,
  deleteSecurityGroup,
  findNetwork,
  listPorts,
  listSecurityGroups,
} from './neutron';
import {
  attachVolume,
  createFlavor,
  createServer,
  deleteFlavor,
  deleteServer,
  detachVolume,
  findFlavor,
  getFlavor,
  getServer,
  listServers,
  listVolumeAttachments,
  rebootServer,
  resizeServerAndConfirm,
  setServerMetadata,
  startServer,
  stopServer,
  waitForServer,
  waitForServerDeleted,
} from './nova';
import { listImages, nova } from './services';
import type { OpenStackSession } from './session';
import { OpenStackWaitError } from './wait';

const timings: Record<string, number> = {};
let session: OpenStackSession;
let imageId: string;
let networkId: string;

beforeAll(async () => {
  await requireCloud();
  session = adminSession();
  const [image] = await listImages(session, { name: 'fake-image' });
  imageId = image!.id;
  networkId = (await findNetwork(session, 'private'))!.id;
});

afterAll(() => {
  console.log(`nova timings (ms): ${JSON.stringify(timings)}`);
});

async function timed<T>(name: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work();
  } finally {
    timings[name] = Date.now() - started;
  }
}

describe('Nova flavors', () => {
  it('finds a flavor by size: the exact one, else the smallest bigger one, else none', async () => {
    expect(await findFlavor(session, { vcpus: 1, ramMb: 512 })).toMatchObject({
      id: '1',
      name: 'm1.tiny',
    });
    expect(await findFlavor(session, { vcpus: 1, ramMb: 1024 })).toMatchObject({
      name: 'm1.small',
    });
    expect(await findFlavor(session, { vcpus: 1, ramMb: 512, minDiskGb: 5 })).toMatchObject({
      name: 'm1.small',
    });
    expect(await findFlavor(session, { vcpus: 4096, ramMb: 512 })).toBeNull();
    expect(await getFlavor(session, '2')).toMatchObject({ name: 'm1.small', ram: 2048 });
    expect(await getFlavor(session, `nothing-${randomUUID()}`)).toBeNull();
  });
});

describe('Nova servers', () => {
  it('creates a server with a security group, user data, an injected file, a config drive, metadata and tags; attaches, extends and detaches a volume; reboots, stops, starts, resizes and deletes it', async () => {
    const instance = randomUUID();
    const tag = `coffer-instance-${instance}`;
    const group = await createSecurityGroup(session, { name: `SecGroup-${instance}`, tags: [tag] });
    await createSecurityGroupRule(session, {
      securityGroupId: group.id,
      direction: 'ingress',
      protocol: 'tcp',
      portRangeMin: 3306,
      portRangeMax: 3306,
      remoteIpPrefix: '10.20.0.0/24',
    });
    const volume = await createVolume(session, {
      size: 1,
      name: `coffer-${instance}`,
      metadata: { 'coffer-instance': instance },
    });
    const guestInfo = JSON.stringify({ instanceId: instance });
    let serverId: string | undefined;
    try {
      await waitForVolume(session, volume.id, 'available');
      const { id } = await timed('create→ACTIVE', async () => {
        const created = await createServer(session, {
          name: `coffer-${instance}`,
          flavorRef: '1',
          imageRef: imageId,
          networks: [{ uuid: networkId }],
          securityGroups: [group.id],
          userData: '#cloud-config\nwrite_files: []\n',
          configDrive: true,
          metadata: { 'coffer-instance': instance, 'coffer-project': 'p1' },
          tags: [tag, 'coffer'],
          personality: [{ path: '/etc/coffer/guest_info.json', contents: guestInfo }],
        });
        serverId = created.id;
        await waitForServer(session, created.id, 'ACTIVE', { timeoutMs: 120_000 });
        return created;
      });

      const server = (await getServer(session, id))!;
      expect(server).toMatchObject({
        id,
        status: 'ACTIVE',
        taskState: null,
        imageId,
        configDrive: true,
        userData: '#cloud-config\nwrite_files: []\n',
        metadata: { 'coffer-instance': instance, 'coffer-project': 'p1' },
        securityGroups: [group.name],
        flavor: { name: 'm1.tiny', vcpus: 1, ramMb: 512, diskGb: 1 },
      });
      expect(server.tags.sort()).toEqual(['coffer', tag].sort());
      expect(server.addresses.private?.[0]?.addr).toMatch(/^10\.99\.0\./);
      expect(server.fault).toBeUndefined();

      // found by tag (all of them, or any), not by another's
      expect((await listServers(session, { tags: [tag] })).map((s) => s.id)).toEqual([id]);
      expect((await listServers(session, { tags: [tag, 'coffer'] })).map((s) => s.id)).toEqual([
        id,
      ]);
      expect(
        (await listServers(session, { tagsAny: [tag, `coffer-instance-${randomUUID()}`] })).map(
          (s) => s.id,
        ),
      ).toEqual([id]);
      expect(await listServers(session, { tags: [`coffer-instance-${randomUUID()}`] })).toEqual([]);
      expect(await setServerMetadata(session, id, { 'coffer-public': 'false' })).toEqual({
        'coffer-instance': instance,
        'coffer-project': 'p1',
        'coffer-public': 'false',
      });
      // Nova made its port, in the server's security group
      const ports = await listPorts(session, { deviceId: id });
      expect(ports).toHaveLength(1);
      expect(ports[0]!.securityGroupIds).toEqual([group.id]);

      // a wait for a status that does not come names the one seen
      await expect(waitForServer(session, id, 'SHUTOFF', { timeoutMs: 300 })).rejects.toMatchObject(
        { reason: 'TIMEOUT', lastState: 'ACTIVE' },
      );

      const attachment = await timed('attach→in-use', async () => {
        const attached = await attachVolume(session, id, volume.id);
        await waitForVolume(session, volume.id, 'in-use');
        return attached;
      });
      expect(attachment).toMatchObject({ serverId: id, volumeId: volume.id });
      expect(attachment.device).toMatch(/^\/dev\/[sv]d[b-z]$/); // the fake driver says sdb
      expect((await listVolumeAttachments(session, id)).map((a) => a.volumeId)).toEqual([
        volume.id,
      ]);
      expect((await getServer(session, id))!.volumeIds).toEqual([volume.id]);

      const extended = await timed('extend in-use 1→2', async () => {
        await extendVolume(session, volume.id, 2);
        return waitForVolume(session, volume.id, 'in-use', { size: 2 });
      });
      expect(extended.attachments.map((a) => a.serverId)).toEqual([id]);

      await timed('reboot→ACTIVE', async () => {
        await rebootServer(session, id, 'SOFT');
        // Nova's API sets the task before it answers: the reboot is seen
        expect((await getServer(session, id))!.status).toMatch(/^(REBOOT|ACTIVE)$/);
        await waitForServer(session, id, 'ACTIVE');
      });
      await rebootServer(session, id, 'HARD');
      await waitForServer(session, id, 'ACTIVE');

      await timed('stop→SHUTOFF, start→ACTIVE', async () => {
        await stopServer(session, id);
        await waitForServer(session, id, 'SHUTOFF');
        await startServer(session, id);
        await waitForServer(session, id, 'ACTIVE');
      });

      const resized = await timed('resize+confirm→ACTIVE', () =>
        resizeServerAndConfirm(session, id, '2'),
      );
      expect(resized.flavor).toMatchObject({ name: 'm1.small', ramMb: 2048 });
      expect(resized.volumeIds).toEqual([volume.id]);

      await timed('detach→available', async () => {
        expect(await detachVolume(session, id, volume.id)).toBe(true);
        await waitForVolume(session, volume.id, 'available');
      });
      expect((await getServer(session, id))!.volumeIds).toEqual([]);
      expect(await detachVolume(session, id, volume.id)).toBe(false);

      // Cinder's attachments API, which the provider uses only to free a volume Nova left
      // attached to a server it has deleted: while the server exists Cinder refuses it (409,
      // ConflictNovaUsingAttachment) and the volume stays attached
      await attachVolume(session, id, volume.id);
      const held = await waitForVolume(session, volume.id, 'in-use');
      expect(held.attachments.map((a) => a.serverId)).toEqual([id]);
      await expect(
        deleteAttachment(session, held.attachments[0]!.attachmentId),
      ).rejects.toMatchObject({ status: 409, serviceMessage: expect.stringMatching(/nova/i) });
      expect((await getVolume(session, volume.id))!.status).toBe('in-use');
      expect(await detachVolume(session, id, volume.id)).toBe(true);
      await waitForVolume(session, volume.id, 'available');
      expect(await deleteAttachment(session, held.attachments[0]!.attachmentId)).toBe(false);

      await timed('delete→gone', async () => {
        expect(await deleteServer(session, id)).toBe(true);
        await waitForServerDeleted(session, id);
      });
      serverId = undefined;
      expect(await getServer(session, id)).toBeNull();
      expect(await deleteServer(session, id)).toBe(false);
    } finally {
      await cleanUp([
        async () => {
          if (!serverId) return;
          await deleteServer(session, serverId);
          await waitForServerDeleted(session, serverId);
        },
        async () => {
          await deleteVolume(session, volume.id);
          await waitForVolumeDeleted(session, volume.id);
        },
        () => deleteSecurityGroup(session, group.id),
      ]);
    }
    // nothing of the instance is left in Nova, Cinder or Neutron
    expect(await listServers(session, { tags: [tag] })).toEqual([]);
    expect(await listVolumes(session, { metadata: { 'coffer-instance': instance } })).toEqual([]);
    expect(await listSecurityGroups(session, { tags: [tag] })).toEqual([]);
    expect(await listPorts(session, { tags: [tag] })).toEqual([]);
  }, 300_000);

  it("fails the wait with Nova's fault when no host can take the server, and when none can take a resize", async () => {
    // a flavor that asks Placement for a trait no host has: Nova's real NoValidHost
    const nowhere = await createFlavor(session, {
      name: uniqueName('nowhere'),
      vcpus: 1,
      ramMb: 512,
      diskGb: 1,
    });
    await nova(session).post(`/flavors/${nowhere.id}/os-extra_specs`, {
      extra_specs: { 'trait:CUSTOM_COFFER_NOWHERE': 'required' },
    });
    const servers: string[] = [];
    try {
      const [unplaceable, placeable] = await Promise.all([
        createServer(session, {
          name: uniqueName('nowhere'),
          flavorRef: nowhere.id,
          imageRef: imageId,
          networks: [{ uuid: networkId }],
        }),
        createServer(session, {
          name: uniqueName('resize-nowhere'),
          flavorRef: '1',
          imageRef: imageId,
          networks: [{ uuid: networkId }],
        }),
      ]);
      servers.push(unplaceable.id, placeable.id);
      const error = (await waitForServer(session, unplaceable.id, 'ACTIVE').catch(
        (e: unknown) => e,
      )) as OpenStackWaitError;
      expect(error).toBeInstanceOf(OpenStackWaitError);
      expect(error).toMatchObject({ reason: 'FAULT', resource: 'server', lastState: 'ERROR' });
      expect(error.fault).toMatch(/No valid host was found/);
      expect(error.message).toContain(unplaceable.id);

      // a resize Nova cannot place leaves the server ACTIVE with its old flavor: a failure all the same
      await waitForServer(session, placeable.id, 'ACTIVE', { timeoutMs: 120_000 });
      const resize = (await resizeServerAndConfirm(session, placeable.id, nowhere.id).catch(
        (e: unknown) => e,
      )) as OpenStackWaitError;
      expect(resize).toBeInstanceOf(OpenStackWaitError);
      expect(resize).toMatchObject({ reason: 'FAULT', lastState: 'ACTIVE' });
      expect(resize.message).toMatch(/No valid host was found|Nova recorded no fault/);
      expect((await getServer(session, placeable.id))!.flavor.name).toBe('m1.tiny');
    } finally {
      await cleanUp([
        ...servers.map((id) => async () => {
          await deleteServer(session, id);
          await waitForServerDeleted(session, id);
        }),
        () => deleteFlavor(session, nowhere.id),
      ]);
    }
  }, 300_000);
});
