import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';

import { type AllowedSources } from '../allowed-sources';
import { ComputeError, type ComputeLogger } from '../provider';

/**
 * The local provider's firewall: who may reach each instance's database port, enforced with
 * nftables. One table of Coffer's own per data directory (`inet coffer_<hash>`; two
 * installations on one machine, say `npm start` and `npm test`, never touch each other's),
 * holding:
 *
 * ```
 * map ports        port → jump i_<instance>           (one element per instance)
 * chain input      hook input, policy accept:
 *                    iif lo accept                     (this machine: the control plane and
 *                                                       the project's own instances)
 *                    tcp dport vmap @ports
 * set i_<id>_4, i_<id>_6   the instance's allowed CIDRs (interval sets)
 * chain i_<id>     ip saddr @i_<id>_4 accept; ip6 saddr @i_<id>_6 accept;
 *                  then drop (private, or public with CIDRs) or accept (public, no CIDRs)
 * ```
 *
 * Every change is one `nft -f` transaction: it happens whole or not at all, and a chain is
 * never seen half-written. Nothing outside the table is ever read or changed. Calls are
 * synchronous (`execFileSync`), so two changes in one process never interleave.
 */
export interface FirewallEntry {
  instanceId: string;
  port: number;
  allowedSources: AllowedSources;
}

export type NftRunner = (args: string[], input?: string) => string;

const runNft: NftRunner = (args, input) =>
  execFileSync('nft', args, {
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 30_000,
  });

/** The table's name for a data directory: `coffer_` and 12 hex digits of its path's hash. */
export function firewallTableFor(dataDir: string): string {
  return `coffer_${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`;
}

/** Whether `nft` runs here and may read the ruleset (installed, and we have CAP_NET_ADMIN). */
export function nftAvailable(run: NftRunner = runNft): boolean {
  try {
    run(['list', 'tables']);
    return true;
  } catch {
    return false;
  }
}

const CHAIN_PATTERN = /^i_[0-9a-f]{32}$/;

function chainOf(instanceId: string): string {
  const hex = instanceId.toLowerCase().replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/.test(hex)) {
    throw new ComputeError('INVALID', `not an instance id: ${instanceId}`);
  }
  return `i_${hex}`;
}

interface TableState {
  /** port → the chain its element jumps to */
  ports: Map<number, string>;
  chains: Set<string>;
  sets: Set<string>;
}

export class NftFirewall {
  readonly table: string;
  private readonly logger: ComputeLogger;
  private readonly run: NftRunner;

  constructor(options: { table: string; logger: ComputeLogger; run?: NftRunner }) {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(options.table)) {
      throw new ComputeError('INVALID', `not an nftables table name: ${options.table}`);
    }
    this.table = options.table;
    this.logger = options.logger;
    this.run = options.run ?? runNft;
  }

  /** Creates or replaces the instance's rules, in one transaction. */
  apply(entry: FirewallEntry): void {
    const state = this.state();
    const t = `inet ${this.table}`;
    const chain = chainOf(entry.instanceId);
    const v4 = entry.allowedSources.cidrs.filter((cidr) => !cidr.includes(':'));
    const v6 = entry.allowedSources.cidrs.filter((cidr) => cidr.includes(':'));
    const openToAll = entry.allowedSources.isPublic && entry.allowedSources.cidrs.length === 0;
    const lines = [
      ...this.baseLines(),
      `add set ${t} ${chain}_4 { type ipv4_addr ; flags interval ; auto-merge ; }`,
      `add set ${t} ${chain}_6 { type ipv6_addr ; flags interval ; auto-merge ; }`,
      `flush set ${t} ${chain}_4`,
      `flush set ${t} ${chain}_6`,
      ...(v4.length > 0 ? [`add element ${t} ${chain}_4 { ${v4.join(', ')} }`] : []),
      ...(v6.length > 0 ? [`add element ${t} ${chain}_6 { ${v6.join(', ')} }`] : []),
      `add chain ${t} ${chain}`,
      `flush chain ${t} ${chain}`,
      `add rule ${t} ${chain} ip saddr @${chain}_4 accept`,
      `add rule ${t} ${chain} ip6 saddr @${chain}_6 accept`,
      `add rule ${t} ${chain} ${openToAll ? 'accept' : 'drop'}`,
    ];
    // The port's element, unless it is there already; a stale one (another instance's, left by
    // a delete that did not finish) or this instance's under another port goes first.
    for (const [port, target] of state?.ports ?? []) {
      if ((port === entry.port) !== (target === chain)) {
        lines.push(`delete element ${t} ports { ${port} }`);
      }
    }
    if (state?.ports.get(entry.port) !== chain) {
      lines.push(`add element ${t} ports { ${entry.port} : jump ${chain} }`);
    }
    this.transaction(lines, entry.instanceId);
  }

  /** Removes the instance's rules (nothing when there are none); the table too once it holds no instance. */
  remove(instanceId: string): void {
    const state = this.state();
    if (!state) return;
    const chain = chainOf(instanceId);
    const remaining = [...state.ports.values()].filter((target) => target !== chain);
    if (remaining.length === 0) {
      this.transaction([`delete table inet ${this.table}`], instanceId);
      return;
    }
    this.transaction(this.removeLines(state, chain), instanceId);
  }

  /**
   * Rebuilds the rules after a boot (or after someone deleted the table): every entry's rules
   * again, and those of instances no entry names (a delete that did not finish) removed. With
   * no entries, the table goes.
   */
  restore(entries: FirewallEntry[]): void {
    const state = this.state();
    const wanted = new Set(entries.map((entry) => chainOf(entry.instanceId)));
    if (entries.length === 0) {
      if (state) this.transaction([`delete table inet ${this.table}`], 'restore');
      return;
    }
    if (state) {
      const stale = [...state.chains].filter(
        (chain) => CHAIN_PATTERN.test(chain) && !wanted.has(chain),
      );
      for (const chain of stale) {
        this.transaction(this.removeLines(state, chain), chain);
        this.logger.warn({ table: this.table, chain }, 'removed the rules of a deleted instance');
      }
    }
    for (const entry of entries) this.apply(entry);
  }

  /** Deletes the whole table (tests; an operator's clean-up). */
  deleteTable(): void {
    if (this.state()) this.transaction([`delete table inet ${this.table}`], 'delete table');
  }

  private baseLines(): string[] {
    const t = `inet ${this.table}`;
    return [
      `add table ${t}`,
      `add chain ${t} input { type filter hook input priority filter ; policy accept ; }`,
      `add map ${t} ports { type inet_service : verdict ; }`,
      `flush chain ${t} input`,
      `add rule ${t} input iif lo accept`,
      `add rule ${t} input tcp dport vmap @ports`,
    ];
  }

  private removeLines(state: TableState, chain: string): string[] {
    const t = `inet ${this.table}`;
    const lines: string[] = [];
    for (const [port, target] of state.ports) {
      if (target === chain) lines.push(`delete element ${t} ports { ${port} }`);
    }
    if (state.chains.has(chain))
      lines.push(`flush chain ${t} ${chain}`, `delete chain ${t} ${chain}`);
    for (const set of [`${chain}_4`, `${chain}_6`]) {
      if (state.sets.has(set)) lines.push(`delete set ${t} ${set}`);
    }
    return lines;
  }

  /** What the table holds now, or null when there is no table. */
  private state(): TableState | null {
    let output: string;
    try {
      output = this.run(['-j', 'list', 'table', 'inet', this.table]);
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '');
      if (/No such file or directory/.test(stderr)) return null;
      throw this.unavailable(error, 'list');
    }
    const state: TableState = { ports: new Map(), chains: new Set(), sets: new Set() };
    const parsed = JSON.parse(output) as { nftables?: Record<string, unknown>[] };
    for (const item of parsed.nftables ?? []) {
      const chain = item.chain as { name?: string } | undefined;
      if (chain?.name) state.chains.add(chain.name);
      const set = item.set as { name?: string } | undefined;
      if (set?.name) state.sets.add(set.name);
      const map = item.map as { name?: string; elem?: unknown[] } | undefined;
      if (map?.name === 'ports') {
        for (const element of map.elem ?? []) {
          const [port, verdict] = element as [unknown, { jump?: { target?: string } }];
          const target = verdict?.jump?.target;
          if (typeof port === 'number' && target) state.ports.set(port, target);
        }
      }
    }
    return state;
  }

  private transaction(lines: string[], subject: string): void {
    try {
      this.run(['-f', '-'], `${lines.join('\n')}\n`);
    } catch (error) {
      throw this.unavailable(error, subject);
    }
  }

  private unavailable(error: unknown, subject: string): ComputeError {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    const message = `nftables refused the firewall change (${subject}): ${stderr || (error as Error).message}`;
    this.logger.error({ table: this.table, subject, err: error }, message);
    return new ComputeError('UNAVAILABLE', message, { cause: error });
  }
}

function isLoopbackAddress(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\./.test(address);
}

/**
 * The local provider's firewall, or null when there is none to have.
 * - Servers listening on a loopback address (`COFFER_INSTANCE_BIND_ADDRESS`, default
 *   `127.0.0.1`): only this machine reaches them, and this machine (the control plane, the
 *   project's instances) is always let in, so rules would change nothing: none are made, and
 *   a table left by an earlier run on another address is removed. Sources are recorded.
 * - Any other address (`0.0.0.0` to serve other machines): nftables enforces the sources; where
 *   `nft` cannot run (not installed, not root) the provider refuses to start (`UNAVAILABLE`):
 *   private must never mean open.
 */
export function createLocalFirewall(options: {
  dataDir: string;
  table?: string;
  bindAddress: string;
  logger: ComputeLogger;
  run?: NftRunner;
}): NftFirewall | null {
  const table = options.table ?? firewallTableFor(options.dataDir);
  const usable = nftAvailable(options.run);
  if (isLoopbackAddress(options.bindAddress)) {
    if (usable) new NftFirewall({ table, logger: options.logger, run: options.run }).deleteTable();
    options.logger.debug(
      { bindAddress: options.bindAddress },
      'the servers listen on loopback only: no firewall rules needed (only this machine reaches them)',
    );
    return null;
  }
  if (usable) return new NftFirewall({ table, logger: options.logger, run: options.run });
  throw new ComputeError(
    'UNAVAILABLE',
    `instances listen on ${options.bindAddress} but nftables is not usable here (install the nftables package and run as root, or set COFFER_INSTANCE_BIND_ADDRESS=127.0.0.1): without it every instance would be open to anyone who reaches that address`,
  );
}
