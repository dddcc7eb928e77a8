import { BlockList, isIP } from 'node:net';

/**
 * Who a request comes from, for the per-address sign-in limit. A client can send any
 * X-Forwarded-For, and Next.js passes a client's header through untouched (it adds the
 * socket's address only when there is none), so the console's own server decides, before
 * Next or better-auth see the request, and leaves exactly one address in X-Forwarded-For:
 *
 * - with no trusted proxies (the default), the address of the connection;
 * - with trusted proxies (COFFER_TRUSTED_PROXIES), walking from the connection back through
 *   X-Forwarded-For (each proxy appends the address it was connected from), the first address
 *   that is not a trusted proxy. An entry that is not an address ends the walk at the trusted
 *   proxy that added it.
 *
 * Plain Node: the console's server entry (server.ts) loads it before Next.
 */

/** `::ffff:10.1.2.3` (an IPv4 client of a dual-stack socket) as `10.1.2.3`. */
function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/** The trusted proxies (addresses and CIDRs, already validated by env.ts) as a BlockList; null for none. */
export function trustedProxyList(entries: readonly string[]): BlockList | null {
  if (entries.length === 0) return null;
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

function isTrusted(address: string, trusted: BlockList): boolean {
  const family = isIP(address);
  return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

export function resolveClientAddress(
  socketAddress: string,
  forwardedFor: string | undefined,
  trusted: BlockList | null,
): string {
  let address = normalizeAddress(socketAddress);
  if (!trusted) return address;
  const hops = (forwardedFor ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  while (isTrusted(address, trusted)) {
    const previous = hops.pop();
    if (previous === undefined) break;
    const normalized = normalizeAddress(previous);
    if (isIP(normalized) === 0) break;
    address = normalized;
  }
  return address;
}

/** The request's X-Forwarded-For replaced by the one client address Coffer believes. */
export function forwardClientAddress(
  request: {
    socket: { remoteAddress?: string };
    headers: Record<string, string | string[] | undefined>;
  },
  trusted: BlockList | null,
): void {
  const header = request.headers['x-forwarded-for'];
  const forwardedFor = Array.isArray(header) ? header.join(',') : header;
  const client = resolveClientAddress(request.socket.remoteAddress ?? '', forwardedFor, trusted);
  if (client) request.headers['x-forwarded-for'] = client;
  else delete request.headers['x-forwarded-for'];
}
