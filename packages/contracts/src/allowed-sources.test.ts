import { describe, expect, it } from 'vitest';

import { accessInputSchema, parseAllowedSources, userHostOutsideSources } from './allowed-sources';

describe('allowed sources in contracts', () => {
  it('parses both families without Node built-ins, refusing malformed IPv6', () => {
    expect(
      parseAllowedSources({ isPublic: true, cidrs: ['2001:DB8::/32', '::ffff:10.0.0.0/104'] })
        .cidrs,
    ).toEqual(['2001:db8::/32', '::ffff:a00:0/104']);
    for (const bad of [
      '1:2:3:4:5:6:7:8:9/64',
      '1::2::3/64',
      'g::/8',
      '10.0.0.256/32',
      '::1.2.3/96',
    ]) {
      expect(() => parseAllowedSources({ isPublic: true, cidrs: [bad] })).toThrow(/not a CIDR/);
    }
  });

  it('the access input: private by default, bounded before parsing, refusals name the entry', () => {
    expect(accessInputSchema.parse({})).toEqual({ isPublic: false, allowedCidrs: [] });
    const many = accessInputSchema.safeParse({
      allowedCidrs: Array.from({ length: 10_000 }, () => '10.0.0.0/8'),
    });
    expect(many.success).toBe(false);
    expect(many.error?.issues[0]?.message).toMatch(/At most 100/);
    const open = accessInputSchema.safeParse({ allowedCidrs: ['0.0.0.0/0'] });
    expect(open.error?.issues[0]?.message).toMatch(/private instance cannot allow/);
    expect(accessInputSchema.parse({ isPublic: true, allowedCidrs: ['::/0'] })).toEqual({
      isPublic: true,
      allowedCidrs: ['::/0'],
    });
  });

  it('user hosts must fall inside the allowed sources, % and loopback always do', () => {
    const tenOnly = { isPublic: false, cidrs: ['10.0.0.0/8'] };
    for (const host of [
      '%',
      'localhost',
      '127.0.0.1',
      '10.1.2.3',
      '10.0.%',
      '10.2.0.0/255.255.0.0',
    ]) {
      expect(userHostOutsideSources(host, tenOnly)).toBeNull();
    }
    for (const host of ['192.168.1.5', '192.168.%', '11.0.0.1', '10.%'.replace('10.', '1%')]) {
      expect(userHostOutsideSources(host, tenOnly)).toMatch(
        /outside the instance's allowed sources/,
      );
    }
    expect(userHostOutsideSources('10.0.0.1', { isPublic: false, cidrs: [] })).toMatch(/outside/);
    expect(userHostOutsideSources('8.8.8.8', { isPublic: true, cidrs: [] })).toBeNull();
    expect(userHostOutsideSources('8.8.8.8', { isPublic: true, cidrs: ['8.8.8.0/24'] })).toBeNull();
  });
});
