// The provider's pure parts: the guest's files in user data and back, the security group's
// rules from allowed sources (and back) and its direct-stream rule, the guests group chosen among
// duplicates and a port put in it, Nova's statuses, OpenStack's errors as ComputeErrors.
import { ComputeError } from '@coffer/compute';
import { OpenStackError, OpenStackWaitError } from '@coffer/openstack';
import { describe, expect, it } from 'vitest';

import { filesOfUserData, guestFiles, userDataFor } from './injection';
import {
  OpenStackComputeProvider,
  chooseGuestsGroup,
  portGroupsWithGuests,
  statusOf,
  toComputeError,
} from './openstack-provider';
import {
  RULE_CONTROL_PLANE,
  RULE_GUEST_STREAM,
  RULE_OPEN,
  RULE_SOURCE,
  ruleChanges,
  sourcesOfRules,
  streamRuleChanges,
  wantedRules,
} from './rules';

describe('guest files in user data', () => {
  it('writes both files as cloud-config, the agent config 0600, and reads them back', () => {
    const files = guestFiles({ instanceId: 'i' }, { guestSecret: 's "quoted"\nline' });
    const userData = userDataFor(files);
    expect(userData.startsWith('#cloud-config\nwrite_files:\n')).toBe(true);
    expect(userData).toContain("  - path: /etc/coffer/guest-agent.json\n    permissions: '0600'");
    expect(filesOfUserData(userData)).toEqual(files);
    expect(JSON.parse(filesOfUserData(userData)[1]!.content)).toEqual({
      guestSecret: 's "quoted"\nline',
    });
  });

  it('refuses a path or mode that would not be safe in YAML', () => {
    expect(() => userDataFor([{ path: '/etc/x: y', permissions: '0600', content: '' }])).toThrow(
      /unsafe path/,
    );
    expect(() => userDataFor([{ path: '/etc/x', permissions: '600; rm', content: '' }])).toThrow(
      /octal/,
    );
  });
});

describe('security group rules', () => {
  const rule = (id: string, remoteIpPrefix: string, description: string, port = 3306) => ({
    id,
    direction: 'ingress',
    remoteIpPrefix,
    portRangeMin: port,
    description,
  });

  it('opens the port to each CIDR, to everyone for a public instance naming none, and to the control plane', () => {
    expect(wantedRules({ isPublic: false, cidrs: [] }, ['192.0.2.0/24'])).toEqual([
      { remoteIpPrefix: '192.0.2.0/24', description: RULE_CONTROL_PLANE },
    ]);
    expect(wantedRules({ isPublic: true, cidrs: [] }, [])).toEqual([
      { remoteIpPrefix: '0.0.0.0/0', description: RULE_OPEN },
      { remoteIpPrefix: '::/0', description: RULE_OPEN },
    ]);
    expect(wantedRules({ isPublic: true, cidrs: ['198.51.100.0/24'] }, [])).toEqual([
      { remoteIpPrefix: '198.51.100.0/24', description: RULE_SOURCE },
    ]);
  });

  it("adds what is missing and removes what is no longer wanted, leaving others' rules alone", () => {
    const existing = [
      rule('keep', '10.0.0.0/8', RULE_SOURCE),
      rule('drop', '10.1.0.0/16', RULE_SOURCE),
      rule('theirs', '10.2.0.0/16', 'an operator rule'),
      rule('other-port', '10.3.0.0/16', RULE_SOURCE, 22),
      { ...rule('egress', '0.0.0.0/0', ''), direction: 'egress' },
    ];
    const changes = ruleChanges(
      existing,
      wantedRules({ isPublic: false, cidrs: ['10.0.0.0/8', 'fd00::/8'] }, []),
      3306,
    );
    expect(changes).toEqual({
      add: [{ remoteIpPrefix: 'fd00::/8', description: RULE_SOURCE }],
      remove: ['drop'],
    });
    expect(sourcesOfRules(existing.slice(0, 2), false)).toEqual({
      isPublic: false,
      cidrs: ['10.0.0.0/8', '10.1.0.0/16'],
    });
  });
});

describe('the direct-stream rule', () => {
  const streamRule = (
    id: string,
    port: number,
    remoteGroupId: string | null,
    description = RULE_GUEST_STREAM,
  ) => ({
    id,
    direction: 'ingress',
    remoteIpPrefix: null,
    remoteGroupId,
    portRangeMin: port,
    description,
  });
  const wanted = { port: 13306, remoteGroupId: 'guests' };

  it('adds the rule from the guests group on the stream port once, and leaves a group that has it alone', () => {
    expect(streamRuleChanges([], wanted)).toEqual({ add: true, remove: [] });
    expect(streamRuleChanges([streamRule('ok', 13306, 'guests')], wanted)).toEqual({
      add: false,
      remove: [],
    });
  });

  it("replaces one on another port or from another group, drops duplicates and all of them without a stream port, never touching others' rules", () => {
    const existing = [
      streamRule('old-port', 13307, 'guests'),
      streamRule('old-group', 13306, 'gone'),
      streamRule('theirs', 13306, 'guests', 'an operator rule'),
      { ...streamRule('database', 3306, null, RULE_SOURCE), remoteIpPrefix: '10.0.0.0/8' },
    ];
    expect(streamRuleChanges(existing, wanted)).toEqual({
      add: true,
      remove: ['old-port', 'old-group'],
    });
    expect(
      streamRuleChanges(
        [streamRule('a', 13306, 'guests'), streamRule('b', 13306, 'guests')],
        wanted,
      ),
    ).toEqual({ add: false, remove: ['b'] });
    expect(streamRuleChanges(existing, null)).toEqual({
      add: false,
      remove: ['old-port', 'old-group'],
    });
    // The database port's rules never see the stream rule (another port).
    expect(ruleChanges([streamRule('ok', 13306, 'guests')], [], 3306)).toEqual({
      add: [],
      remove: [],
    });
  });

  it('gives no endpoint without a stream port, and refuses the database port as one', async () => {
    const options = { session: {} as never, image: 'i', network: 'n' };
    expect(await new OpenStackComputeProvider(options).guestStreamEndpoint('x')).toBeNull();
    expect(() => new OpenStackComputeProvider({ ...options, streamPort: 3306 })).toThrow(
      /stream port must differ/,
    );
  });
});

describe('the guests group', () => {
  it('is the oldest group of its name, not the smallest id: the later of two creates at once gives way whatever the ids', () => {
    // A made first (seeing only itself it keeps A); B, made after, sees both: B must choose A
    const a = { id: 'ffff', createdAt: '2026-12-06T09:18:22Z' };
    const b = { id: '0000', createdAt: '2026-12-06T09:18:23Z' };
    expect(chooseGuestsGroup([a])).toEqual({ id: 'ffff', duplicates: [] });
    expect(chooseGuestsGroup([b, a])).toEqual({ id: 'ffff', duplicates: ['0000'] });
    // the same second: the smaller id (every maker and every later look agree on it)
    const c = { id: '1111', createdAt: a.createdAt };
    expect(chooseGuestsGroup([a, c, b])).toEqual({ id: '1111', duplicates: ['ffff', '0000'] });
    expect(chooseGuestsGroup([])).toBeNull();
  });

  it("puts a port in it and out of its duplicates, leaving a port that is already right and the port's other groups alone", () => {
    const guests = { id: 'guests', duplicates: ['dup'] };
    expect(portGroupsWithGuests(['own', 'guests'], guests)).toBeNull();
    // made before the stream port: joins
    expect(portGroupsWithGuests(['own'], guests)).toEqual(['own', 'guests']);
    // in a duplicate: moved
    expect(portGroupsWithGuests(['own', 'dup'], guests)).toEqual(['own', 'guests']);
    expect(portGroupsWithGuests(['own', 'dup', 'guests'], guests)).toEqual(['own', 'guests']);
  });
});

describe('statuses and errors', () => {
  it("reduces Nova's statuses to BUILD, ACTIVE, SHUTOFF and ERROR", () => {
    expect(statusOf({ status: 'ACTIVE' })).toBe('ACTIVE');
    expect(statusOf({ status: 'VERIFY_RESIZE' })).toBe('BUILD');
    expect(statusOf({ status: 'REBOOT' })).toBe('BUILD');
    expect(statusOf({ status: 'SHUTOFF' })).toBe('SHUTOFF');
    expect(statusOf({ status: 'ERROR' })).toBe('ERROR');
  });

  it("maps OpenStack's codes onto ComputeError's, keeping the service's words and request id", () => {
    const refused = (code: 'QUOTA' | 'NOT_FOUND' | 'CONFLICT' | 'FORBIDDEN') =>
      new OpenStackError({
        code,
        service: 'compute',
        method: 'POST',
        url: 'http://nova/v2.1/servers',
        status: 403,
        requestId: 'req-1',
        serviceMessage: 'Quota exceeded for instances',
      });
    const quota = toComputeError(refused('QUOTA'), 'create server');
    expect(quota).toBeInstanceOf(ComputeError);
    expect(quota.code).toBe('QUOTA');
    expect(quota.message).toBe(
      'create server: POST compute /v2.1/servers: 403 Quota exceeded for instances (request req-1)',
    );
    expect(toComputeError(refused('NOT_FOUND'), 'x').code).toBe('NOT_FOUND');
    expect(toComputeError(refused('CONFLICT'), 'x').code).toBe('UNAVAILABLE');
    expect(toComputeError(refused('FORBIDDEN'), 'x').code).toBe('UNAVAILABLE');
    const fault = new OpenStackWaitError({
      reason: 'FAULT',
      resource: 'server',
      id: 's',
      wanted: 'ACTIVE',
      lastState: 'ERROR',
      fault: 'No valid host was found.',
      waitedMs: 5,
    });
    expect(toComputeError(fault, 'create server')).toMatchObject({
      code: 'UNAVAILABLE',
      message:
        'create server: server s went to ERROR while waiting for ACTIVE: No valid host was found.',
    });
    const own = new ComputeError('INVALID', 'mine');
    expect(toComputeError(own, 'x')).toBe(own);
  });
});
