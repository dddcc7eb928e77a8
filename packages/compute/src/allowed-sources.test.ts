import { describe, expect, it } from 'vitest';

import { MAX_ALLOWED_CIDRS, parseAllowedSources, privateSources } from './allowed-sources';

describe('parseAllowedSources', () => {
  it('keeps private networks of both families, canonical and once each', () => {
    expect(
      parseAllowedSources({
        isPublic: false,
        cidrs: [
          '10.0.0.0/8',
          ' 192.168.4.0/24',
          'FD00:0:0::/8',
          'fd00::/8',
          '::1/128',
          '10.0.0.0/8',
        ],
      }),
    ).toEqual({ isPublic: false, cidrs: ['10.0.0.0/8', '192.168.4.0/24', 'fd00::/8', '::1/128'] });
    expect(parseAllowedSources(privateSources())).toEqual({ isPublic: false, cidrs: [] });
  });

  it('lets a public instance allow any network, the whole internet included', () => {
    expect(
      parseAllowedSources({ isPublic: true, cidrs: ['0.0.0.0/0', '::/0', '203.0.113.7/32'] }),
    ).toEqual({ isPublic: true, cidrs: ['0.0.0.0/0', '::/0', '203.0.113.7/32'] });
  });

  it.each([
    ['garbage', { isPublic: true, cidrs: ['not a cidr'] }, /not a CIDR/],
    ['no prefix', { isPublic: true, cidrs: ['10.0.0.0'] }, /not a CIDR/],
    ['a prefix too long', { isPublic: true, cidrs: ['10.0.0.0/33'] }, /not a CIDR/],
    ['an IPv6 zone', { isPublic: true, cidrs: ['fe80::%eth0/64'] }, /not a CIDR/],
    ['host bits set', { isPublic: true, cidrs: ['10.0.0.1/8'] }, /host bits/],
    ['not a string', { isPublic: true, cidrs: [42 as unknown as string] }, /not a CIDR/],
    [
      'too many entries',
      {
        isPublic: true,
        cidrs: Array.from({ length: 10_000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`),
      },
      /at most 100/,
    ],
    ['everything on a private instance', { isPublic: false, cidrs: ['0.0.0.0/0'] }, /private/],
    ['all of IPv6 on a private instance', { isPublic: false, cidrs: ['::/0'] }, /private/],
    [
      'a public address on a private instance',
      { isPublic: false, cidrs: ['8.8.8.0/24'] },
      /private/,
    ],
    ['a private range widened', { isPublic: false, cidrs: ['10.0.0.0/7'] }, /private/],
    ['no isPublic', { cidrs: [] } as never, /isPublic/],
  ])('refuses %s with INVALID', (_what, sources, message) => {
    expect(() => parseAllowedSources(sources)).toThrowError(
      expect.objectContaining({
        name: 'ComputeError',
        code: 'INVALID',
        message: expect.stringMatching(message),
      }),
    );
  });

  it('allows exactly the maximum', () => {
    const cidrs = Array.from({ length: MAX_ALLOWED_CIDRS }, (_, i) => `10.0.${i}.0/24`);
    expect(parseAllowedSources({ isPublic: false, cidrs }).cidrs).toHaveLength(MAX_ALLOWED_CIDRS);
  });
});
