import { randomUUID } from 'node:crypto';

import { generateGuestSecret, guestKeys, signBody } from '@coffer/contracts/crypto';
import { describe, expect, it } from 'vitest';

import { verifyRpcJob } from './verify-job';

const instanceId = randomUUID();
const { signing } = guestKeys(generateGuestSecret());

function envelope(body: object, key = signing) {
  const text = JSON.stringify(body);
  return { body: text, signature: signBody(key, text) };
}

const goodBody = {
  instanceId,
  method: 'get_status',
  params: {},
  requestId: randomUUID(),
  sentAt: Date.now(),
  expiresAt: Date.now() + 60_000,
};

describe('verifyRpcJob', () => {
  it('accepts a job signed with this guest key, for this instance', () => {
    const result = verifyRpcJob(
      { name: 'get_status', data: envelope(goodBody) },
      { instanceId, signingKey: signing },
    );
    expect(result).toMatchObject({ isValid: true, call: { method: 'get_status', params: {} } });
  });

  it('applies param defaults when it parses', () => {
    const body = {
      ...goodBody,
      method: 'prepare',
      params: { memoryMb: 512, vcpus: 1, databases: [], users: [] },
    };
    const result = verifyRpcJob(
      { name: 'prepare', data: envelope(body) },
      { instanceId, signingKey: signing },
    );
    expect(result).toMatchObject({ isValid: true, call: { params: { configOverrides: {} } } });
  });

  it.each([
    ['a malformed envelope', { name: 'get_status', data: { body: 1 } }, 'malformed envelope'],
    [
      'another key',
      { name: 'get_status', data: envelope(goodBody, guestKeys(generateGuestSecret()).signing) },
      'bad signature',
    ],
    [
      'a tampered body',
      {
        name: 'get_status',
        data: {
          ...envelope(goodBody),
          body: JSON.stringify({ ...goodBody, requestId: randomUUID() }),
        },
      },
      'bad signature',
    ],
    [
      'a body without a request id or an expiry',
      {
        name: 'get_status',
        data: envelope({ instanceId, method: 'get_status', params: {}, sentAt: Date.now() }),
      },
      'malformed body',
    ],
    [
      'a request id that is not one',
      { name: 'get_status', data: envelope({ ...goodBody, requestId: 'r1' }) },
      'malformed body',
    ],
    [
      'an expiry more than 7 days after it was sent',
      {
        name: 'get_status',
        data: envelope({ ...goodBody, expiresAt: goodBody.sentAt + 8 * 24 * 3600_000 }),
      },
      'malformed body',
    ],
    [
      'an expiry before it was sent',
      { name: 'get_status', data: envelope({ ...goodBody, expiresAt: goodBody.sentAt - 1 }) },
      'malformed body',
    ],
    [
      'another instance',
      { name: 'get_status', data: envelope({ ...goodBody, instanceId: randomUUID() }) },
      'addressed to another instance',
    ],
    [
      'an unknown method',
      { name: 'drop_everything', data: envelope({ ...goodBody, method: 'drop_everything' }) },
      'unknown method',
    ],
    [
      'a renamed job',
      { name: 'prepare', data: envelope(goodBody) },
      'does not match the signed method',
    ],
    [
      'bad params',
      {
        name: 'prepare',
        data: envelope({ ...goodBody, method: 'prepare', params: { memoryMb: -1 } }),
      },
      'invalid params',
    ],
    [
      'a reserved user name',
      {
        name: 'prepare',
        data: envelope({
          ...goodBody,
          method: 'prepare',
          params: {
            memoryMb: 512,
            vcpus: 1,
            databases: [],
            users: [{ name: 'root', host: '%', password: 'v1.a.b.c', databases: [] }],
          },
        }),
      },
      'invalid params',
    ],
  ])('refuses %s', (_, job, reason) => {
    const result = verifyRpcJob(job, { instanceId, signingKey: signing });
    expect(result.isValid).toBe(false);
    expect(result.isValid ? '' : result.reason).toContain(reason);
  });
});

describe('verifyRpcJob re-validates database and user methods (a forged call that bypassed the API)', () => {
  const signed = (method: string, params: unknown) => ({
    name: method,
    data: envelope({ ...goodBody, method, params }),
  });
  const sealed = 'v1.aaaa.bbbb.cccc';

  it.each([
    ['create_database', { name: 'x`; DROP DATABASE y; --' }],
    ['create_database', { name: "it's" }],
    ['create_database', { name: 'аpp' }],
    ['create_database', { name: 'd'.repeat(65) }],
    ['create_database', { name: 'mysql' }],
    ['create_database', { name: 'app', characterSet: 'utf8mb4 COLLATE x' }],
    ['create_database', { name: 'app', characterSet: 'latin1', collation: 'utf8mb4_bin' }],
    ['delete_database', { name: 'information_schema' }],
    ['delete_database', { name: 'a`b' }],
    ['create_user', { name: 'root', host: '%', password: sealed, databases: [] }],
    ['create_user', { name: 'coffer_admin', host: 'localhost', password: sealed, databases: [] }],
    ['create_user', { name: 'app', host: "%' OR '1'='1", password: sealed, databases: [] }],
    ['create_user', { name: 'app', host: 'db.example.com', password: sealed, databases: [] }],
    ['create_user', { name: 'app', host: '%', password: 'clear-text-password', databases: [] }],
    ['create_user', { name: 'app', host: '%', password: sealed, databases: ['sys'] }],
    ['update_user', { name: 'app', host: '%' }],
    ['update_user', { name: 'coffer_admin', host: 'localhost', newPassword: sealed }],
    ['delete_user', { name: 'root', host: 'localhost' }],
    ['delete_user', { name: 'mariadb.sys', host: 'localhost' }],
    ['grant_access', { name: 'app', host: '%', databases: ['mysql'] }],
    ['grant_access', { name: 'app', host: '%', databases: [] }],
    ['revoke_access', { name: 'app', host: '%', database: 'performance_schema' }],
    ['enable_root', { password: 'not-sealed' }],
  ])('refuses %s with %j', (method, params) => {
    const result = verifyRpcJob(signed(method, params), { instanceId, signingKey: signing });
    expect(result.isValid).toBe(false);
    expect(result.isValid ? '' : result.reason).toContain('invalid params');
  });

  it('accepts the same methods with good params', () => {
    for (const [method, params] of [
      ['create_database', { name: 'app', characterSet: 'utf8mb4', collation: 'utf8mb4_bin' }],
      ['create_user', { name: 'app_user', host: '10.0.%', password: sealed, databases: ['app'] }],
      ['update_user', { name: 'app_user', host: '10.0.%', newHost: '%' }],
      ['revoke_access', { name: 'app_user', host: '%', database: 'app' }],
      ['enable_root', { password: sealed }],
      ['disable_root', {}],
    ] as const) {
      expect(
        verifyRpcJob(signed(method, params), { instanceId, signingKey: signing }).isValid,
        method,
      ).toBe(true);
    }
  });
});
