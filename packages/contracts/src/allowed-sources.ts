import { z } from 'zod';

/**
 * Who may reach an instance's database port, as Trove's `access: {is_public, allowed_cidrs}`.
 * The control plane and the project's own instances always may; these are the tenant's
 * additions. The web app checks them when they are asked for; the worker and every compute
 * provider check them again (the provider turns them into its own rules: nftables on the local
 * one). Browser-safe: no Node built-ins.
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
/** The longest text an entry may be (the longest IPv6 CIDR is 49 characters). */
const MAX_CIDR_TEXT = 64;

export interface Cidr {
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

const LOOPBACK: Cidr[] = ['127.0.0.0/8', '::1/128'].map((cidr) => parseCidr(cidr)!);

/** Why sources were refused: the message names the first entry refused. */
export class AllowedSourcesError extends Error {
  override readonly name = 'AllowedSourcesError';
}

/**
 * The sources in canonical form (lower-case, compressed IPv6, no duplicates), or an
 * {@link AllowedSourcesError} naming the first entry refused: not a CIDR, host bits set, more
 * than MAX_ALLOWED_CIDRS, or, on a private instance, a network outside the private ranges
 * (`0.0.0.0/0` and `::/0` included).
 */
export function parseAllowedSources(sources: AllowedSources): AllowedSources {
  if (typeof sources?.isPublic !== 'boolean' || !Array.isArray(sources.cidrs)) {
    throw new AllowedSourcesError('allowed sources must be { isPublic: boolean, cidrs: [] }');
  }
  if (sources.cidrs.length > MAX_ALLOWED_CIDRS) {
    throw new AllowedSourcesError(
      `at most ${MAX_ALLOWED_CIDRS} allowed CIDRs, not ${sources.cidrs.length}`,
    );
  }
  const canonical = new Set<string>();
  for (const entry of sources.cidrs) {
    const cidr =
      typeof entry === 'string' && entry.length <= MAX_CIDR_TEXT ? parseCidr(entry.trim()) : null;
    if (!cidr) throw new AllowedSourcesError(`not a CIDR: ${JSON.stringify(entry).slice(0, 80)}`);
    if ((cidr.network & hostMask(cidr)) !== 0n) {
      throw new AllowedSourcesError(`${entry} has host bits set`);
    }
    if (!sources.isPublic && !PRIVATE_RANGES.some((range) => contains(range, cidr))) {
      throw new AllowedSourcesError(
        `${entry} reaches beyond the private ranges: a private instance cannot allow it`,
      );
    }
    canonical.add(formatCidr(cidr));
  }
  return { isPublic: sources.isPublic, cidrs: [...canonical] };
}

/** The first problem of the sources in the tenant's words, or null when they are acceptable. */
export function allowedSourcesProblem(sources: AllowedSources): string | null {
  try {
    parseAllowedSources(sources);
    return null;
  } catch (error) {
    if (error instanceof AllowedSourcesError) return error.message;
    throw error;
  }
}

/**
 * The API's `access` input (Trove's names): private and no CIDRs when left out. The bound on
 * the list is checked before any entry is parsed, so 10,000 entries cost nothing.
 */
export const accessInputSchema = z
  .object({
    isPublic: z.boolean().default(false),
    allowedCidrs: z
      .array(z.string().max(MAX_CIDR_TEXT, 'Each CIDR must be at most 64 characters'))
      .max(MAX_ALLOWED_CIDRS, `At most ${MAX_ALLOWED_CIDRS} allowed CIDRs`)
      .default([]),
  })
  .superRefine((access, ctx) => {
    const problem = allowedSourcesProblem({
      isPublic: access.isPublic,
      cidrs: access.allowedCidrs,
    });
    if (problem) ctx.addIssue({ code: 'custom', path: ['allowedCidrs'], message: problem });
  })
  .transform((access) => {
    const parsed = parseAllowedSources({ isPublic: access.isPublic, cidrs: access.allowedCidrs });
    return { isPublic: parsed.isPublic, allowedCidrs: parsed.cidrs };
  });
export type AccessInput = z.input<typeof accessInputSchema>;
export type Access = z.output<typeof accessInputSchema>;

/** Reachable from anywhere: public with no CIDRs. */
function isOpen(sources: AllowedSources): boolean {
  return sources.isPublic && sources.cidrs.length === 0;
}

/** The allowed CIDRs that parse (parseAllowedSources refuses the others before they are stored). */
function allowedCidrsOf(sources: AllowedSources): Cidr[] {
  return sources.cidrs.map((cidr) => parseCidr(cidr)).filter((cidr): cidr is Cidr => cidr !== null);
}

/**
 * Whether clients anywhere in `network` get through the sources: always from loopback (the
 * control plane and the project's own instances on the local provider), from anywhere on a
 * public instance with no CIDRs, otherwise only from inside one allowed CIDR. Each datastore's
 * rule for its users' hosts (`userHostOutsideSources` of its definition) turns a host into the
 * network it matches and asks this.
 */
export function sourcesAdmit(sources: AllowedSources, network: Cidr): boolean {
  if (isOpen(sources)) return true;
  return [...LOOPBACK, ...allowedCidrsOf(sources)].some((range) => contains(range, network));
}

/**
 * Whether `wider` admits every network `narrower` admits (each CIDR of `narrower` inside one
 * of `wider`'s, or `wider` open): a change from `narrower` to `wider` leaves no database user
 * outside that was inside. False when unsure (a CIDR covered only by two together).
 */
export function sourcesCover(wider: AllowedSources, narrower: AllowedSources): boolean {
  if (isOpen(wider)) return true;
  if (isOpen(narrower)) return false;
  return allowedCidrsOf(narrower).every((cidr) => sourcesAdmit(wider, cidr));
}

/** A CIDR (`10.0.0.0/8`, `fd00::/8`), or null. */
export function parseCidr(text: string): Cidr | null {
  const match = /^([^/]+)\/([0-9]{1,3})$/.exec(text);
  if (!match) return null;
  const [, address, prefixText] = match as unknown as [string, string, string];
  const prefix = Number(prefixText);
  const v4 = parseIpv4(address);
  if (v4 !== null) return prefix > 32 ? null : { family: 4, network: v4, prefix };
  const v6 = parseIpv6(address);
  if (v6 !== null) return prefix > 128 ? null : { family: 6, network: v6, prefix };
  return null;
}

/** A dotted-quad IPv4 address as a number, or null. */
export function parseIpv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(address: string): bigint | null {
  let text = address.toLowerCase();
  if (!/^[0-9a-f:.]+$/.test(text)) return null;
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two groups.
  const v4Match = /(?:^|:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Match) {
    const v4 = parseIpv4(v4Match[1]!);
    if (v4 === null) return null;
    text = `${text.slice(0, -v4Match[1]!.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  if (text.includes('.')) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const split = (half: string) => (half === '' ? [] : half.split(':'));
  const head = split(halves[0]!);
  const tail = halves.length === 2 ? split(halves[1]!) : [];
  const groups = [...head, ...tail];
  if (!groups.every((group) => /^[0-9a-f]{1,4}$/.test(group))) return null;
  if (halves.length === 2 ? groups.length > 7 : groups.length !== 8) return null;
  const zeros = 8 - groups.length;
  const all = [...head, ...Array<string>(halves.length === 2 ? zeros : 0).fill('0'), ...tail];
  return all.reduce((value, group) => (value << 16n) | BigInt(`0x${group}`), 0n);
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

/**
 * `instance.setAccess`: apply the row's allowed sources (`isPublic`, `allowedCidrs`) to its
 * server. The payload names only the instance: the job reads the row when it runs, so the last
 * change wins however the jobs interleave. Each change is a job of its own (a fresh resource id).
 */
export const instanceSetAccessJobSchema = z.object({ instanceId: z.uuid() });
export type InstanceSetAccessJob = z.infer<typeof instanceSetAccessJobSchema>;
