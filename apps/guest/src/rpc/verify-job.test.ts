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
  requestId: 'r1',
  sentAt: Date.now(),
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
        data: { ...envelope(goodBody), body: JSON.stringify({ ...goodBody, requestId: 'r2' }) },
      },
      'bad signature',
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
