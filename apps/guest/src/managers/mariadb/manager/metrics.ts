import { withTimeout } from '../../../lib/timeout';
import { type ServerMetricsReading } from '../../datastore-manager';
import { readAdminCredentials } from '../admin-connection';
import { readServerCounters } from '../server-counters';
import { type AdminSession } from './admin-session';
import { type MariadbRuntime } from './runtime';
import { type ServerState } from './server-state';

/**
 * What the metrics sampler reads of the server every heartbeat interval: its process id (for
 * its CPU and memory in /proc) and its counters (../server-counters.ts). Read only while the
 * server runs, within the ping timeout, on a connection of its own; never throws.
 */
export class MariadbMetrics {
  constructor(
    private readonly runtime: MariadbRuntime,
    private readonly state: ServerState,
    private readonly session: AdminSession,
  ) {}

  async readServerMetrics(): Promise<ServerMetricsReading | undefined> {
    const pid = this.runtime.server.runningPid();
    if (
      pid === null ||
      this.state.phase !== 'prepared' ||
      this.state.lastStatus !== 'RUNNING' ||
      !readAdminCredentials(this.runtime.layout)
    )
      return pid === null ? undefined : { pid, counters: null };
    const read = (async () => {
      const connection = await this.session.connect();
      try {
        return await readServerCounters(connection);
      } finally {
        await connection.end().catch(() => undefined);
      }
    })();
    read.catch(() => undefined);
    try {
      const counters = await withTimeout(
        read,
        this.runtime.options.pingTimeoutMs,
        'reading the server counters',
      );
      return { pid, counters };
    } catch (error) {
      this.runtime.logger.debug({ err: error }, 'server counters not read for the metrics');
      return { pid, counters: null };
    }
  }
}
