import { isIPv4, isIPv6 } from 'node:net';

import { ComputeError } from './provider';

/**
 * Who may reach an instance's database port, as Trove's `access: {is_public, allowed_cidrs}`.
 * The control plane always may; these are the tenant's additions. A provider turns them into
 * its own rules (a Neutron security group; nftables on the local provider, issue 13).
 */
export interface AllowedSources {
  /** Reachable from public addresses; private (the default) allows private ranges only. */
  isPublic: boolean;
  /** Networks (IPv4 or IPv6 CIDR, host bits zero) that may connect. */
  cidrs: string[];
}

/** The default: private, nothing but the control plane. */
export function privateSources(): AllowedSources {
  return { isPublic: false, cidrs: [] };
}

/** More rules than any tenant needs, few enough that a provider's rule set stays small. */
export const MAX_ALLOWED_CIDRS = 100;

interface Cidr {
  family: 4 | 6;
  network: bigint;
  prefix: number;
}

/** Where a private instance may be reached from: RFC 1918, CGNAT, loopback, link-local, ULA. */
const PRIVATE_RANGES: Cidr[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '::1/128',
  'fc00::/7',
  'fe80::/10',
].map((cidr) => parseCidr(cidr)!);

/**
 * The sources in canonical form (lower-case, compressed IPv6, no duplicates), or a
 * `ComputeError('INVALID')` naming the first entry refused: not a CIDR, host bits set, more
 * than MAX_ALLOWED_CIDRS, or, on a private instance, a network outside the private ranges
 * (`0.0.0.0/0` included).
 */
export function parseAllowedSources(sources: AllowedSources): AllowedSources {
  if (typeof sources?.isPublic !== 'boolean' || !Array.isArray(sources.cidrs)) {
    throw new ComputeError('INVALID', 'allowed sources must be { isPublic: boolean, cidrs: [] }');
  }
  if (sources.cidrs.length > MAX_ALLOWED_CIDRS) {
    throw new ComputeError(
      'INVALID',
      `at most ${MAX_ALLOWED_CIDRS} allowed CIDRs, not ${sources.cidrs.length}`,
    );
  }
  const canonical = new Set<string>();
  for (const entry of sources.cidrs) {
    const cidr = typeof entry === 'string' ? parseCidr(entry.trim()) : null;
    if (!cidr) throw new ComputeError('INVALID', `not a CIDR: ${JSON.stringify(entry)}`);
    if ((cidr.network & hostMask(cidr)) !== 0n) {
      throw new ComputeError('INVALID', `${entry} has host bits set`);
    }
    if (!sources.isPublic && !PRIVATE_RANGES.some((range) => contains(range, cidr))) {
      throw new ComputeError(
        'INVALID',
        `${entry} reaches beyond the private ranges: a private instance cannot allow it`,
      );
    }
    canonical.add(formatCidr(cidr));
  }
  return { isPublic: sources.isPublic, cidrs: [...canonical] };
}

function parseCidr(text: string): Cidr | null {
  const match = /^([^/]+)\/([0-9]{1,3})$/.exec(text);
  if (!match) return null;
  const [, address, prefixText] = match as unknown as [string, string, string];
  const prefix = Number(prefixText);
  if (isIPv4(address)) {
    if (prefix > 32) return null;
    const network = address.split('.').reduce((value, part) => (value << 8n) | BigInt(part), 0n);
    return { family: 4, network, prefix };
  }
  if (isIPv6(address) && !address.includes('%')) {
    if (prefix > 128) return null;
    return { family: 6, network: ipv6ToBigInt(address), prefix };
  }
  return null;
}

function ipv6ToBigInt(address: string): bigint {
  let text = address.toLowerCase();
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -v4[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(zeros).fill('0'), ...tailGroups];
  return groups.reduce((value, group) => (value << 16n) | BigInt(`0x${group}`), 0n);
}

function bits(cidr: Cidr): number {
  return cidr.family === 4 ? 32 : 128;
}

function hostMask(cidr: Cidr): bigint {
  return (1n << BigInt(bits(cidr) - cidr.prefix)) - 1n;
}

function contains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || inner.prefix < outer.prefix) return false;
  return (inner.network & ~hostMask(outer)) === outer.network;
}

function formatCidr(cidr: Cidr): string {
  if (cidr.family === 4) {
    const octets = [24n, 16n, 8n, 0n].map((shift) => String((cidr.network >> shift) & 0xffn));
    return `${octets.join('.')}/${cidr.prefix}`;
  }
  const groups = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) {
    groups.push(((cidr.network >> shift) & 0xffffn).toString(16));
  }
  // The URL parser writes IPv6 in its canonical compressed form (RFC 5952).
  const address = new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
  return `${address}/${cidr.prefix}`;
}
