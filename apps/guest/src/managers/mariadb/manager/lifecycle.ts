import { existsSync, rmSync } from 'node:fs';

import { type GuestResult, type ServiceStatus } from '@coffer/contracts';

import { writeFileAtomic } from '@coffer/host';
import { StoppedByShutdownError, TenantFacingError } from '../../../errors';
import { type PrepareParams } from '../../datastore-manager';
import { readAdminCredentials } from '../admin-connection';
import { ServerSupervisor, type RestartPolicy } from '../server-supervisor';
import { readServerVersion } from '../sql';
import { type AdminSession } from './admin-session';
import { type MariadbBackups } from './backups';
import { runPrepare, toFault } from './prepare';
import { type MariadbRuntime } from './runtime';
import { type Phase, type ServerState } from './server-state';
import { ServiceStatusReader } from './service-status';

/**
 * The server's life (Trove's MySqlApp): boot, prepare, restart, stop, status and shutdown,
 * and the supervisor that starts a server that died unasked.
 */
export class MariadbLifecycle {
  private readonly supervisor: ServerSupervisor;
  private readonly status: ServiceStatusReader;
  /**
   * Whether the guest wants its server running: set once it started it (boot, prepare, a
   * restart), cleared before any stop it makes. A server that is down while this holds died
   * unasked, and the supervisor starts it again.
   */
  private wantsServerRunning = false;

  constructor(
    private readonly runtime: MariadbRuntime,
    private readonly state: ServerState,
    private readonly session: AdminSession,
    private readonly backups: MariadbBackups,
  ) {
    const { options, server, events, logger } = runtime;
    this.supervisor = new ServerSupervisor({
      policy: options.restartPolicy,
      pollIntervalMs: options.supervisePollMs ?? 1000,
      shouldRun: () => this.wantsServerRunning && this.state.phase === 'prepared',
      isAlive: () => server.runningPid() !== null,
      runExclusive: options.runExclusive ?? ((task) => task()),
      start: async () => {
        events.onStatusChange();
        await server.start(runtime.serverAccount());
        await this.refreshVersion();
      },
      onRestarted: ({ count, policy }) => {
        events.onEvent({
          kind: 'server_restarted',
          message: `The database server stopped without being asked to and was started again (restart ${count} of at most ${policy.maxRestarts} in ${Math.round(policy.windowMs / 60_000)} minutes).`,
        });
        events.onStatusChange();
      },
      onGiveUp: ({ restarts, policy }) => this.reportCrashLoop(restarts, policy),
      logger: logger.child({ component: 'supervisor' }),
    });
    this.status = new ServiceStatusReader(runtime, state, this.supervisor);
  }

  /** The supervisor stopped trying: a fault naming the error log's last lines, and an event. */
  private reportCrashLoop(restarts: number, policy: RestartPolicy): void {
    const { events } = this.runtime;
    const { lastError, lines } = this.runtime.server.errorLogTail(20);
    const minutes = Math.round(policy.windowMs / 60_000);
    const message = `The database server keeps stopping: it was started again ${restarts} times in ${minutes} minutes and is not started any more${lastError ? `. Its error log says: ${lastError}` : ''}. Restart the instance once the cause is fixed.`;
    events.onFault({
      operation: 'server_restart',
      message: message.slice(0, 2000),
      ...(lines.length > 0
        ? {
            details: `The last lines of the server's error log:\n${lines.join('\n')}`.slice(
              0,
              8000,
            ),
          }
        : {}),
    });
    events.onEvent({ kind: 'server_crash_loop', message: message.slice(0, 1000) });
    events.onStatusChange();
  }

  async boot(): Promise<void> {
    const { server, layout, logger, options } = this.runtime;
    await this.backups.onBoot();
    this.supervisor.start();
    // A fresh server being installed early has nothing to bring back: prepare starts it.
    if (options.earlyInstall) return;
    if (!server.isInstalled() || !server.hasConfig()) return;
    if (existsSync(layout.stoppedMarker)) {
      logger.info('the database server was stopped on request: not starting it');
      return;
    }
    try {
      const outcome = await server.start(this.runtime.serverAccount());
      logger.info(
        { outcome, phase: this.state.phase },
        'database server is up after the guest started',
      );
      await this.refreshVersion();
    } catch (error) {
      logger.error({ err: error }, 'could not bring the database server back');
    } finally {
      // Prepared: from now on a server that is down died unasked (after a failed start too).
      this.wantsServerRunning = this.state.phase === 'prepared';
    }
    this.runtime.events.onStatusChange();
  }

  async prepare(params: PrepareParams): Promise<GuestResult<'prepare'>> {
    const { layout, logger, events } = this.runtime;
    this.wantsServerRunning = false;
    this.setPhase('building');
    rmSync(layout.failedMarker, { force: true });
    rmSync(layout.stoppedMarker, { force: true });
    const startedAt = Date.now();
    try {
      const result = await runPrepare(this.runtime, this.session, this.backups, params);
      writeFileAtomic(
        layout.preparedMarker,
        `${JSON.stringify({ preparedAt: new Date().toISOString(), memoryMb: params.memoryMb, vcpus: params.vcpus, ...result })}\n`,
      );
      this.state.knownVersion = result.serverVersion;
      this.supervisor.reset();
      this.wantsServerRunning = true;
      this.setPhase('prepared');
      logger.info({ ms: Date.now() - startedAt, ...result }, 'prepare completed');
      return result;
    } catch (error) {
      // Stopped because the guest is stopping (its server being deleted): nothing failed.
      if (error instanceof StoppedByShutdownError) {
        logger.info('prepare stopped: the guest is stopping');
        throw error;
      }
      const fault = toFault(error);
      logger.error({ err: error, fault: fault.message }, 'prepare failed');
      writeFileAtomic(
        layout.failedMarker,
        `${JSON.stringify({ failedAt: new Date().toISOString(), message: fault.message })}\n`,
      );
      this.setPhase('failed');
      events.onFault(fault);
      throw new TenantFacingError(fault.message, fault.details, { cause: error });
    }
  }

  /**
   * The running server's version, for heartbeats (it changes when the server is upgraded):
   * the one its greeting gave as it started answering, else asked over SQL.
   */
  private async refreshVersion(): Promise<void> {
    const greeted = this.runtime.server.startedVersion();
    if (greeted) {
      this.state.knownVersion = greeted;
      return;
    }
    if (!readAdminCredentials(this.runtime.layout)) return;
    try {
      const connection = await this.session.connect();
      try {
        this.state.knownVersion = await readServerVersion(connection);
      } finally {
        await connection.end().catch(() => undefined);
      }
    } catch (error) {
      this.runtime.logger.warn({ err: error }, 'could not read the server version');
    }
  }

  async restart(): Promise<GuestResult<'restart'>> {
    const { server, layout, events } = this.runtime;
    if (!server.isInstalled() || !server.hasConfig()) {
      throw new TenantFacingError(
        'The database server cannot be restarted: it has not been prepared yet.',
      );
    }
    // Asked for: not a crash (the supervisor leaves the server alone while it is down).
    this.wantsServerRunning = false;
    await server.stop();
    events.onStatusChange();
    rmSync(layout.stoppedMarker, { force: true });
    this.supervisor.reset();
    try {
      await server.start(this.runtime.serverAccount());
      await this.refreshVersion();
    } finally {
      // Once started (or not: then the supervisor tries again, with its backoff).
      this.wantsServerRunning = true;
      events.onStatusChange();
    }
    return {};
  }

  async stopDb(): Promise<GuestResult<'stop_db'>> {
    const { server, layout, events } = this.runtime;
    this.wantsServerRunning = false;
    // Stays stopped across a guest restart, until a restart or a prepare.
    if (server.hasConfig()) writeFileAtomic(layout.stoppedMarker, `${new Date().toISOString()}\n`);
    await server.stop();
    events.onStatusChange();
    return {};
  }

  async getStatus(): Promise<GuestResult<'get_status'>> {
    const serviceStatus = await this.status.read();
    this.state.lastStatus = serviceStatus;
    return { serviceStatus, serverVersion: this.state.knownVersion };
  }

  /** The guest is stopping: no more restarts of a server that goes down from here on. */
  stopSupervising(): void {
    this.supervisor.stop();
  }

  async shutdown(): Promise<void> {
    this.supervisor.stop();
    this.wantsServerRunning = false;
    await this.runtime.server.stop();
  }

  /** The final word of a stopping guest. */
  shutdownStatus(): ServiceStatus {
    return this.state.phase === 'failed' ? 'FAILED' : 'SHUTDOWN';
  }

  private setPhase(phase: Phase): void {
    this.state.phase = phase;
    this.runtime.events.onStatusChange();
  }
}
