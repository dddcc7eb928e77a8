import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

import { ComputeError } from '../provider';

export interface PortRange {
  min: number;
  max: number;
}

/**
 * Coffer's default range for local database servers; 33060 (MySQL X protocol) is never
 * handed out. It lies below Linux's ephemeral range (32768–60999 by default), where the
 * kernel picks the local ports of outgoing connections: a server there can find its port
 * taken by some client's connection when it starts or restarts.
 */
export const DEFAULT_PORT_RANGE: PortRange = { min: 23100, max: 23999 };
const NEVER_ALLOCATED = new Set([3306, 33060]);

/** True when nothing listens on `port` at `host` right now (we could bind it). */
export function canBindPort(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/**
 * The first port of `range` that is neither in `taken` nor bound by anyone on `host`.
 * Test-binding only proves the port is free now: callers claim it (see the local
 * provider's port claims) before they hand it out.
 */
export async function allocatePort({
  taken,
  range = DEFAULT_PORT_RANGE,
  host = '127.0.0.1',
}: {
  taken: ReadonlySet<number>;
  range?: PortRange;
  host?: string;
}): Promise<number> {
  if (
    !Number.isInteger(range.min) ||
    !Number.isInteger(range.max) ||
    range.min < 1 ||
    range.max > 65535 ||
    range.min > range.max
  ) {
    throw new ComputeError('INVALID', `invalid port range ${range.min}-${range.max}`);
  }
  for (let port = range.min; port <= range.max; port++) {
    if (taken.has(port) || NEVER_ALLOCATED.has(port)) continue;
    if (await canBindPort(port, host)) return port;
  }
  throw new ComputeError('QUOTA', `no free port left in ${range.min}-${range.max}`);
}

/**
 * The part of `range` inside this machine's ephemeral port range (where outgoing
 * connections get their local ports), or null when they do not overlap or it cannot be read.
 */
export function overlapWithEphemeralPorts(
  range: PortRange,
  file = '/proc/sys/net/ipv4/ip_local_port_range',
): PortRange | null {
  let ephemeral: number[];
  try {
    ephemeral = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
  } catch {
    return null;
  }
  const [low, high] = ephemeral;
  if (!Number.isInteger(low) || !Number.isInteger(high)) return null;
  const min = Math.max(range.min, low!);
  const max = Math.min(range.max, high!);
  return min <= max ? { min, max } : null;
}
