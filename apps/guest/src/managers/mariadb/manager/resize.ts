import { existsSync, readFileSync, statfsSync } from 'node:fs';

import { type GuestResult } from '@coffer/contracts';

import { TenantFacingError } from '../../../errors';
import { type MethodParams } from '../../datastore-manager';
import { withSizing, sizingOf } from '../my-cnf-sizing';
import { describeError } from './describe-failure';
import { type MariadbLifecycle } from './lifecycle';
import { type MariadbRuntime } from './runtime';
import { type ServerState } from './server-state';

/**
 * Resize (issue 13), the guest's half: a new flavor's sizing in the server's config, with a
 * restart (the buffer pool's chunk size and the redo log are read at start), and the volume's
 * size as its filesystem says. The compute provider changes the limits; the taskmanager
 * orders the two.
 */
export class MariadbResize {
  constructor(
    private readonly runtime: MariadbRuntime,
    private readonly state: ServerState,
    private readonly lifecycle: MariadbLifecycle,
  ) {}

  async applyFlavor(params: MethodParams<'apply_flavor'>): Promise<GuestResult<'apply_flavor'>> {
    const { server, layout, logger } = this.runtime;
    if (!this.state.isPrepared || !server.hasConfig()) {
      throw new TenantFacingError(
        'The database server cannot be resized: it has not been prepared yet.',
      );
    }
    const resources = { memoryMb: params.memoryMb, vcpus: params.vcpus };
    const sizing = sizingOf(resources);
    const report = (restarted: boolean) => ({
      innodbBufferPoolMb: sizing.innodbBufferPoolMb,
      maxConnections: sizing.maxConnections,
      restarted,
    });
    const previous = readFileSync(layout.myCnf, 'utf8');
    const next = withSizing(previous, resources);
    if (next === previous && server.runningPid() !== null) {
      logger.info(resources, 'apply_flavor: the config already has this sizing');
      return report(false);
    }
    server.writeConfig(next);
    logger.info(resources, 'apply_flavor: config rewritten, restarting the database server');
    try {
      await this.lifecycle.restart();
      return report(true);
    } catch (error) {
      // The old config back, and the server started with it: the instance runs as before.
      const reason = describeError(error);
      logger.error({ err: error }, 'apply_flavor: the server did not start: old config back');
      server.writeConfig(previous);
      try {
        await this.lifecycle.restart();
      } catch (again) {
        throw new TenantFacingError(
          `The database server did not start with the new size (${reason}), nor again with its old one: ${describeError(again)}`,
          undefined,
          { cause: again },
        );
      }
      throw new TenantFacingError(
        `The database server did not start with the new size: ${reason}. It runs again with its old size.`,
        undefined,
        { cause: error },
      );
    }
  }

  volumeUsage(): GuestResult<'volume_usage'> {
    const { layout } = this.runtime;
    // The datadir is on the volume's filesystem (whatever the provider mounted: the volume dir or above).
    const stats = statfsSync(existsSync(layout.datadir) ? layout.datadir : layout.volumeDir);
    const totalBytes = stats.blocks * stats.bsize;
    return { totalBytes, usedBytes: Math.max(0, totalBytes - stats.bfree * stats.bsize) };
  }
}
