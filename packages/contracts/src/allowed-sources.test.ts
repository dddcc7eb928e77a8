import { describe, expect, it } from 'vitest';

import {
  accessInputSchema,
  parseAllowedSources,
  parseCidr,
  sourcesAdmit,
  sourcesCover,
} from './allowed-sources';

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

  it('admits a network from loopback, inside one CIDR, or anywhere when public with none', () => {
    const tenOnly = { isPublic: false, cidrs: ['10.0.0.0/8'] };
    const admits = (sources: typeof tenOnly, cidr: string) =>
      sourcesAdmit(sources, parseCidr(cidr)!);
    expect(admits(tenOnly, '10.2.0.0/16')).toBe(true);
    expect(admits(tenOnly, '127.0.0.1/32')).toBe(true);
    expect(admits(tenOnly, '0.0.0.0/0')).toBe(false);
    expect(admits(tenOnly, '192.168.0.0/16')).toBe(false);
    expect(admits({ isPublic: true, cidrs: [] }, '8.8.8.8/32')).toBe(true);
    expect(admits({ isPublic: true, cidrs: ['8.8.8.0/24'] }, '8.8.4.4/32')).toBe(false);
  });

  it('knows when a change of sources only widens them', () => {
    const sources = (isPublic: boolean, ...cidrs: string[]) => ({ isPublic, cidrs });
    const ten = sources(false, '10.1.0.0/16');
    expect(sourcesCover(sources(false, '10.0.0.0/8'), ten)).toBe(true);
    expect(sourcesCover(sources(true, '10.1.0.0/16', '203.0.113.0/24'), ten)).toBe(true);
    expect(sourcesCover(sources(true), ten)).toBe(true);
    expect(sourcesCover(ten, sources(false))).toBe(true);
    expect(sourcesCover(ten, sources(false, '127.0.0.0/8'))).toBe(true);
    expect(sourcesCover(sources(true, '203.0.113.0/24'), ten)).toBe(false);
    expect(sourcesCover(sources(false, '10.1.0.0/17'), ten)).toBe(false);
    expect(sourcesCover(sources(true, '10.0.0.0/8'), sources(true))).toBe(false);
    // Covered only by two together: unsure, so not a widening (the users are checked).
    expect(sourcesCover(sources(false, '10.1.0.0/17', '10.1.128.0/17'), ten)).toBe(false);
  });
});
