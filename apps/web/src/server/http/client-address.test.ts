import { describe, expect, it } from 'vitest';

import { resolveClientAddress, trustedProxyList } from './client-address';

/** The rule itself, case by case (rate-limit.test.ts runs it over real HTTP and a real proxy). */
describe('resolveClientAddress', () => {
  const proxies = trustedProxyList(['10.0.0.0/8', '192.168.1.1', 'fd00::/8']);

  it.each([
    [
      'no trusted proxies: the connection, whatever the header says',
      '203.0.113.9',
      '198.51.100.1',
      null,
      '203.0.113.9',
    ],
    ['no trusted proxies, no header', '203.0.113.9', undefined, null, '203.0.113.9'],
    ['an IPv4 client of a dual-stack socket', '::ffff:203.0.113.9', undefined, null, '203.0.113.9'],
    [
      'a connection that is no trusted proxy: its own address',
      '203.0.113.9',
      '198.51.100.1',
      proxies,
      '203.0.113.9',
    ],
    ['one trusted proxy: the address it saw', '10.1.2.3', '198.51.100.1', proxies, '198.51.100.1'],
    [
      'a spoofed entry before the proxy’s is ignored',
      '10.1.2.3',
      '1.1.1.1, 198.51.100.1',
      proxies,
      '198.51.100.1',
    ],
    ['two trusted hops', '192.168.1.1', '1.1.1.1, 198.51.100.1, 10.9.9.9', proxies, '198.51.100.1'],
    ['IPv6 proxies and clients', 'fd00::1', '2001:db8::7', proxies, '2001:db8::7'],
    ['only trusted hops: the first of them', '10.1.2.3', '10.0.0.5', proxies, '10.0.0.5'],
    ['a trusted proxy without a header: the proxy', '10.1.2.3', undefined, proxies, '10.1.2.3'],
    ['garbage from a trusted proxy: that proxy', '10.1.2.3', 'not-an-address', proxies, '10.1.2.3'],
  ] as const)('%s', (_case, socket, header, trusted, expected) => {
    expect(resolveClientAddress(socket, header, trusted)).toBe(expected);
  });
});
