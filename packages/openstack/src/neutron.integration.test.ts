// Neutron against the loopback OpenStack: networks by name, a security group with tags and
// rules (idempotent), ports by tag and by device, tags, deletes that say whether anything was there.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { adminSession, cleanUp, recorder, requireCloud, uniqueName } from '../test/cloud';
import {
  addTag,
  createPort,
  createSecurityGroup,
  createSecurityGroupRule,
  deletePort,
  deleteSecurityGroup,
  deleteSecurityGroupRule,
  findNetwork,
  getPort,
  getSecurityGroup,
  getTags,
  listNetworks,
  listPorts,
  listSecurityGroups,
  removeTag,
  setPortSecurityGroups,
} from './neutron';

beforeAll(requireCloud);

describe('Neutron', () => {
  it('finds the shared private network by name, and nothing for an unknown name', async () => {
    const session = adminSession();
    const network = await findNetwork(session, 'private');
    expect(network).toMatchObject({ name: 'private', shared: true, external: false });
    expect(network!.subnetIds).toHaveLength(1);
    expect(await findNetwork(session, `nothing-${randomUUID()}`)).toBeNull();
    const external = await listNetworks(session, { name: 'public' });
    expect(external[0]).toMatchObject({ external: true });
  });

  it('creates a tagged security group, finds it by name and by tag, adds rules idempotently and deletes them', async () => {
    const { lines, logger } = recorder();
    const session = adminSession(logger);
    const name = uniqueName('sg');
    const tag = `coffer-instance-${randomUUID()}`;
    const group = await createSecurityGroup(session, {
      name,
      description: 'integration test',
      tags: [tag, 'coffer-test'],
    });
    try {
      expect(group.tags.sort()).toEqual([tag, 'coffer-test'].sort());
      // Neutron gives every new group its two egress rules
      expect(group.rules.map((r) => `${r.direction}/${r.ethertype}`).sort()).toEqual([
        'egress/IPv4',
        'egress/IPv6',
      ]);
      expect((await listSecurityGroups(session, { name })).map((g) => g.id)).toEqual([group.id]);
      expect((await listSecurityGroups(session, { tags: [tag] })).map((g) => g.id)).toEqual([
        group.id,
      ]);
      expect(
        (await listSecurityGroups(session, { tagsAny: [tag, 'nothing-else'] })).map((g) => g.id),
      ).toEqual([group.id]);
      expect(await listSecurityGroups(session, { tags: [tag, 'nothing-else'] })).toEqual([]);

      const rule = await createSecurityGroupRule(session, {
        securityGroupId: group.id,
        direction: 'ingress',
        protocol: 'tcp',
        portRangeMin: 3306,
        portRangeMax: 3306,
        remoteIpPrefix: '10.20.0.0/24',
        description: 'clients',
      });
      expect(rule).toMatchObject({
        securityGroupId: group.id,
        direction: 'ingress',
        ethertype: 'IPv4',
        protocol: 'tcp',
        portRangeMin: 3306,
        portRangeMax: 3306,
        remoteIpPrefix: '10.20.0.0/24',
        description: 'clients',
      });
      // the same rule again: Neutron's 409 SecurityGroupRuleExists, answered with that rule, not retried
      const again = await createSecurityGroupRule(session, {
        securityGroupId: group.id,
        direction: 'ingress',
        protocol: 'tcp',
        portRangeMin: 3306,
        portRangeMax: 3306,
        remoteIpPrefix: '10.20.0.0/24',
      });
      expect(again.id).toBe(rule.id);
      expect(lines.filter((l) => l.msg === 'openstack request refused, retrying')).toEqual([]);
      const v6 = await createSecurityGroupRule(session, {
        securityGroupId: group.id,
        direction: 'ingress',
        protocol: 'tcp',
        portRangeMin: 3306,
        portRangeMax: 3306,
        remoteIpPrefix: '2001:db8::/64',
      });
      expect(v6.ethertype).toBe('IPv6');

      const shown = await getSecurityGroup(session, group.id);
      expect(shown!.rules.map((r) => r.id)).toEqual(expect.arrayContaining([rule.id, v6.id]));
      expect(await deleteSecurityGroupRule(session, rule.id)).toBe(true);
      expect(await deleteSecurityGroupRule(session, rule.id)).toBe(false);
      expect((await getSecurityGroup(session, group.id))!.rules.map((r) => r.id)).not.toContain(
        rule.id,
      );
    } finally {
      expect(await deleteSecurityGroup(session, group.id)).toBe(true);
    }
    expect(await getSecurityGroup(session, group.id)).toBeNull();
    expect(await deleteSecurityGroup(session, group.id)).toBe(false);
    expect(await listSecurityGroups(session, { tags: [tag] })).toEqual([]);
  });

  it('creates a tagged port in a security group, lists it by tag and network, retags it and deletes it', async () => {
    const session = adminSession();
    const network = (await findNetwork(session, 'private'))!;
    const tag = `coffer-instance-${randomUUID()}`;
    const [first, second] = await Promise.all([
      createSecurityGroup(session, { name: uniqueName('sg-a') }),
      createSecurityGroup(session, { name: uniqueName('sg-b') }),
    ]);
    const port = await createPort(session, {
      networkId: network.id,
      name: uniqueName('port'),
      securityGroupIds: [first!.id],
      tags: [tag],
    });
    try {
      expect(port).toMatchObject({ networkId: network.id, deviceId: '', tags: [tag] });
      expect(port.securityGroupIds).toEqual([first!.id]);
      expect(port.fixedIps[0]!.ipAddress).toMatch(/^10\.99\.0\./);
      expect((await listPorts(session, { tags: [tag] })).map((p) => p.id)).toEqual([port.id]);
      expect(
        (await listPorts(session, { networkId: network.id, tags: [tag] })).map((p) => p.id),
      ).toEqual([port.id]);
      expect(await listPorts(session, { deviceId: randomUUID() })).toEqual([]);

      const moved = await setPortSecurityGroups(session, port.id, [second!.id]);
      expect(moved.securityGroupIds).toEqual([second!.id]);

      await addTag(session, 'ports', port.id, 'coffer-extra');
      await addTag(session, 'ports', port.id, 'coffer-extra'); // idempotent
      expect((await getTags(session, 'ports', port.id)).sort()).toEqual(
        ['coffer-extra', tag].sort(),
      );
      expect(await removeTag(session, 'ports', port.id, 'coffer-extra')).toBe(true);
      expect(await removeTag(session, 'ports', port.id, 'coffer-extra')).toBe(false);
      expect((await getPort(session, port.id))!.tags).toEqual([tag]);
    } finally {
      await cleanUp([
        async () => expect(await deletePort(session, port.id)).toBe(true),
        () => deleteSecurityGroup(session, first!.id),
        () => deleteSecurityGroup(session, second!.id),
      ]);
    }
    expect(await getPort(session, port.id)).toBeNull();
    expect(await deletePort(session, port.id)).toBe(false);
    expect(await listPorts(session, { tags: [tag] })).toEqual([]);
  });
});
