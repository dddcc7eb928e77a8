import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ComputeError } from '../provider';
import { allocatePort, type PortRange } from './port-allocator';

/**
 * The local provider's ports: one claim file per port under `<dataDir>/ports/<port>`, holding
 * the instance id, created exclusively so two workers on one data dir never hand out the same
 * port. A claim lives as long as its server: deleteServer releases it.
 */
export class PortClaims {
  constructor(
    private readonly dir: string,
    private readonly range: PortRange,
    private readonly bindAddress: string,
  ) {}

  /**
   * The instance's port: the one it already claimed, else `requested` when it is free
   * (`PORT_TAKEN` when another instance claimed it), else the first free port of the range
   * (`QUOTA` when none is left).
   */
  async claim(instanceId: string, requested: number | undefined): Promise<number> {
    mkdirSync(this.dir, { recursive: true });
    const claims = this.read();
    const own = [...claims].find(([, owner]) => owner === instanceId);
    if (own) return own[0];
    if (requested !== undefined) {
      if (!Number.isInteger(requested) || requested < 1 || requested > 65535) {
        throw new ComputeError('INVALID', `not a port: ${requested}`);
      }
      if (!this.tryClaim(requested, instanceId)) {
        throw new ComputeError('PORT_TAKEN', `port ${requested} is already allocated`);
      }
      return requested;
    }
    const taken = new Set(claims.keys());
    for (;;) {
      const port = await allocatePort({ taken, range: this.range, host: this.bindAddress });
      if (this.tryClaim(port, instanceId)) return port;
      taken.add(port);
    }
  }

  /** Gives back every port the instance claimed. */
  release(instanceId: string): void {
    for (const [port, owner] of this.read()) {
      if (owner === instanceId) rmSync(join(this.dir, String(port)), { force: true });
    }
  }

  private tryClaim(port: number, instanceId: string): boolean {
    try {
      writeFileSync(join(this.dir, String(port)), instanceId, { flag: 'wx' });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  }

  private read(): Map<number, string> {
    const claims = new Map<number, string>();
    if (!existsSync(this.dir)) return claims;
    for (const entry of readdirSync(this.dir)) {
      if (!/^[0-9]+$/.test(entry)) continue;
      try {
        claims.set(Number(entry), readFileSync(join(this.dir, entry), 'utf8').trim());
      } catch {
        // Released meanwhile.
      }
    }
    return claims;
  }
}
