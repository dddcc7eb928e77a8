import { type ServiceStatus } from '@coffer/contracts';

import { type ServerSupervisor } from '../server-supervisor';
import { type MariadbRuntime } from './runtime';
import { type ServerState } from './server-state';

/** Trove's `_get_actual_db_status`: the phase first, then pid file, process and ping. */
export class ServiceStatusReader {
  private unresponsiveSince: number | null = null;

  constructor(
    private readonly runtime: MariadbRuntime,
    private readonly state: ServerState,
    private readonly supervisor: ServerSupervisor,
  ) {}

  async read(): Promise<ServiceStatus> {
    const { state } = this;
    if (state.phase === 'new') return 'NEW';
    if (state.phase === 'building') return 'BUILDING';
    if (state.phase === 'failed') return 'FAILED';
    const probe = await this.runtime.server.probe(this.runtime.options.pingTimeoutMs);
    if (probe.state !== 'unresponsive') this.unresponsiveSince = null;
    // The supervisor gave up on it: CRASHED until a restart (the fault says why).
    if (this.supervisor.hasGivenUp && probe.state !== 'running') return 'CRASHED';
    switch (probe.state) {
      case 'stopped':
        return 'SHUTDOWN';
      case 'dead':
        return 'CRASHED';
      case 'running':
        if (probe.version) state.knownVersion = probe.version;
        return 'RUNNING';
      case 'unresponsive': {
        const now = Date.now();
        this.unresponsiveSince ??= now;
        if (now - this.unresponsiveSince >= this.runtime.options.unresponsiveGraceMs) {
          this.runtime.logger.warn(
            { pid: probe.pid, reason: probe.reason },
            'the database server is alive but does not answer',
          );
          return 'CRASHED';
        }
        // A moment without an answer (starting, busy): keep saying what we last said.
        return state.lastStatus;
      }
    }
  }
}
