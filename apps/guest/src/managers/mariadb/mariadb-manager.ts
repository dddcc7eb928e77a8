import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import {
  replicationPasswordAad,
  type CreateBackupParams,
  type FaultPayload,
  type GuestAgentConfig,
  type GuestInfo,
  type GuestResult,
  type ReplicationStatus,
  type ServiceStatus,
} from '@coffer/contracts';
import { guestKeys, openSecret, SealError } from '@coffer/contracts/crypto';
import { type Connection } from 'mysql2/promise';
import { type Logger } from 'pino';
import { z } from 'zod';

import { writeFileAtomic } from '@coffer/host';
import { withTimeout } from '../../lib/timeout';
import {
  type DatastoreManager,
  type ManagerEvents,
  type MethodParams,
  type PrepareParams,
  RequestRefusedError,
  StoppedByShutdownError,
  TenantFacingError,
} from '../datastore-manager';
import {
  connectOverSocket,
  ensureAdminCredentials,
  isAccessDenied,
  pingAsAdmin,
  readAdminCredentials,
} from './admin-connection';
import { type MariadbBinaries } from './binaries';
import { type BackupRun, type FindBackupTools, type VerifiedRestore } from './backup';
import { backupMarkerPath } from './backup/marker';
import { readRestoredFrom } from './backup/restored-from';
import { layoutOf, type MariadbLayout } from './layout';
import { ConfigOverrideError, renderMyCnf, withReadOnly } from './my-cnf';
import { pingServer } from './ping';
import {
  attachReplica,
  createReplicationUser,
  dropReplicationUser,
  readReplicationStatus,
  setReadOnly,
  stopReplication,
  waitForGtid,
  waitForReplicaThreads,
} from './replication';
import { chooseServerAccount, type ServerAccount } from './server-account';
import { MariadbServer, ServerProcessError } from './server-process';
import { ServerSupervisor, type RestartPolicy } from './server-supervisor';
import {
  createDatabase,
  createUser,
  deleteDatabase,
  deleteUser,
  disableRoot,
  enableRoot,
  ensureAdminAccount,
  grantAccess,
  listAccess,
  listDatabases,
  listUsers,
  readServerVersion,
  revokeAccess,
  secureAccounts,
  updateUser,
} from './sql-admin';

/** Where the guest is in the instance's life, beside what the server process says. */
type Phase = 'new' | 'building' | 'failed' | 'prepared';

export interface MariadbManagerOptions {
  configDir: string;
  info: GuestInfo;
  config: GuestAgentConfig;
  findBinaries: () => MariadbBinaries;
  /** PATH for the server's tools. */
  path: string;
  /** An install of the datadir already under way since the guest started (see boot/early-install.ts). */
  earlyInstall?: Promise<void> | null;
  logger: Logger;
  events: ManagerEvents;
  /** How long a ping may take before the server counts as not answering. */
  pingTimeoutMs: number;
  /** How long a live server may go without answering before it counts as CRASHED. */
  unresponsiveGraceMs: number;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
  /** Runs work that changes the server under the agent's lock (the supervisor's restarts). */
  runExclusive?: <T>(task: () => Promise<T>) => Promise<T>;
  /** How often the supervisor looks at the server process (default 1 s). */
  supervisePollMs?: number;
  /** The crash-loop bound (default: 5 restarts in 10 minutes, 1 s, 2 s, 4 s… apart). */
  restartPolicy?: RestartPolicy;
}

export class MariadbManager implements DatastoreManager {
  readonly layout: MariadbLayout;
  private readonly server: MariadbServer;
  private readonly options: MariadbManagerOptions;
  private readonly logger: Logger;
  private phase: Phase = 'new';
  private account: ServerAccount | null = null;
  private unresponsiveSince: number | null = null;
  private lastStatus: ServiceStatus = 'NEW';
  private knownVersion: string | null = null;
  private runningBackup: BackupRun | null = null;
  private restoreAbort: AbortController | null = null;
  private readonly supervisor: ServerSupervisor;
  /**
   * Whether the guest wants its server running: set once it started it (boot, prepare, a
   * restart), cleared before any stop it makes. A server that is down while this holds died
   * unasked, and the supervisor starts it again.
   */
  private wantsServerRunning = false;

  constructor(options: MariadbManagerOptions) {
    this.options = options;
    this.logger = options.logger;
    this.layout = layoutOf(options.configDir, options.config.datastore);
    this.server = new MariadbServer({
      layout: this.layout,
      findBinaries: options.findBinaries,
      path: options.path,
      logger: options.logger,
      ping: (timeoutMs) => {
        const credentials = readAdminCredentials(this.layout);
        return credentials
          ? pingAsAdmin(this.layout, credentials, timeoutMs)
          : pingServer(this.layout.socket, timeoutMs);
      },
      startTimeoutMs: options.startTimeoutMs,
      stopTimeoutMs: options.stopTimeoutMs,
    });
    // Known before the first heartbeat: a restarted guest of a prepared instance never says NEW.
    this.phase = existsSync(this.layout.preparedMarker)
      ? 'prepared'
      : existsSync(this.layout.failedMarker)
        ? 'failed'
        : 'new';
    this.lastStatus = this.phase === 'prepared' ? 'SHUTDOWN' : 'NEW';
    this.knownVersion = this.readPreparedVersion();
    this.supervisor = new ServerSupervisor({
      policy: options.restartPolicy,
      pollIntervalMs: options.supervisePollMs ?? 1000,
      shouldRun: () => this.wantsServerRunning && this.phase === 'prepared',
      isAlive: () => this.server.runningPid() !== null,
      runExclusive: options.runExclusive ?? ((task) => task()),
      start: async () => {
        this.options.events.onStatusChange();
        await this.server.start(this.serverAccount());
        await this.refreshVersion();
      },
      onRestarted: ({ count, policy }) => {
        this.options.events.onEvent({
          kind: 'server_restarted',
          message: `The database server stopped without being asked to and was started again (restart ${count} of at most ${policy.maxRestarts} in ${Math.round(policy.windowMs / 60_000)} minutes).`,
        });
        this.options.events.onStatusChange();
      },
      onGiveUp: ({ restarts, policy }) => this.reportCrashLoop(restarts, policy),
      logger: this.logger.child({ component: 'supervisor' }),
    });
  }

  /** The supervisor stopped trying: a fault naming the error log's last lines, and an event. */
  private reportCrashLoop(restarts: number, policy: RestartPolicy): void {
    const { lastError, lines } = this.server.errorLogTail(20);
    const minutes = Math.round(policy.windowMs / 60_000);
    const message = `The database server keeps stopping: it was started again ${restarts} times in ${minutes} minutes and is not started any more${lastError ? `. Its error log says: ${lastError}` : ''}. Restart the instance once the cause is fixed.`;
    this.options.events.onFault({
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
    this.options.events.onEvent({ kind: 'server_crash_loop', message: message.slice(0, 1000) });
    this.options.events.onStatusChange();
  }

  async boot(): Promise<void> {
    await this.reportInterruptedBackup();
    // Load the backup code now (a small chunk): a guest adopted after its bundle was rebuilt
    // (new chunk names) must still be able to make backups.
    void import('./backup').catch((error: unknown) =>
      this.logger.warn({ err: error }, 'could not load the backup code'),
    );
    this.supervisor.start();
    // A fresh server being installed early has nothing to bring back: prepare starts it.
    if (this.options.earlyInstall) return;
    if (!this.server.isInstalled() || !this.server.hasConfig()) return;
    if (existsSync(this.layout.stoppedMarker)) {
      this.logger.info('the database server was stopped on request: not starting it');
      return;
    }
    try {
      const outcome = await this.server.start(this.serverAccount());
      this.logger.info(
        { outcome, phase: this.phase },
        'database server is up after the guest started',
      );
      await this.refreshVersion();
    } catch (error) {
      this.logger.error({ err: error }, 'could not bring the database server back');
    } finally {
      // Prepared: from now on a server that is down died unasked (after a failed start too).
      this.wantsServerRunning = this.phase === 'prepared';
    }
    this.options.events.onStatusChange();
  }

  async prepare(params: PrepareParams): Promise<GuestResult<'prepare'>> {
    this.wantsServerRunning = false;
    this.setPhase('building');
    rmSync(this.layout.failedMarker, { force: true });
    rmSync(this.layout.stoppedMarker, { force: true });
    const startedAt = Date.now();
    try {
      const result = await this.runPrepare(params);
      writeFileAtomic(
        this.layout.preparedMarker,
        `${JSON.stringify({ preparedAt: new Date().toISOString(), memoryMb: params.memoryMb, vcpus: params.vcpus, ...result })}\n`,
      );
      this.knownVersion = result.mariadbVersion;
      this.supervisor.reset();
      this.wantsServerRunning = true;
      this.setPhase('prepared');
      this.logger.info({ ms: Date.now() - startedAt, ...result }, 'prepare completed');
      return result;
    } catch (error) {
      // Stopped because the guest is stopping (its server being deleted): nothing failed.
      if (error instanceof StoppedByShutdownError) {
        this.logger.info('prepare stopped: the guest is stopping');
        throw error;
      }
      const fault = toFault(error);
      this.logger.error({ err: error, fault: fault.message }, 'prepare failed');
      writeFileAtomic(
        this.layout.failedMarker,
        `${JSON.stringify({ failedAt: new Date().toISOString(), message: fault.message })}\n`,
      );
      this.setPhase('failed');
      this.options.events.onFault(fault);
      throw new TenantFacingError(fault.message, fault.details, { cause: error });
    }
  }

  private async runPrepare(params: PrepareParams): Promise<GuestResult<'prepare'>> {
    const account = this.serverAccount();
    // A prepare run again (its job handed back after the guest died) finds the datadir its
    // first run restored from this very chain: that datadir is kept, not fetched again.
    const isRestored = params.restore !== undefined && this.isRestoredFrom(params.restore);
    if (isRestored) this.logger.info('the datadir was already restored from these backups: kept');
    // A restore fetches and verifies every chunk of its backups before anything is written.
    const restore = params.restore && !isRestored ? await this.fetchRestore(params.restore) : null;
    // Open every sealed password first: one that does not open fails prepare before anything is touched.
    const { sealing } = guestKeys(this.options.config.guestSecret);
    const users = params.users.map((user) => {
      try {
        return { ...user, password: openSecret(sealing, user.password, `user:${user.name}`) };
      } catch (error) {
        if (error instanceof SealError) {
          throw new TenantFacingError(
            `The password of user ${user.name} could not be opened: it was not sealed for this instance.`,
          );
        }
        throw error;
      }
    });

    await step('Writing the database server configuration', async () => {
      const { datastore } = this.options.config;
      this.server.writeConfig(
        renderMyCnf({
          instanceId: this.options.info.instanceId,
          resources: { memoryMb: params.memoryMb, vcpus: params.vcpus },
          port: datastore.port,
          bindAddress: datastore.bindAddress,
          datadir: this.layout.datadir,
          socket: this.layout.socket,
          pidFile: this.layout.pidFile,
          logError: this.layout.logError,
          tmpDir: this.layout.tmpDir,
          isReadOnly: params.isReadOnly,
          overrides: params.configOverrides,
        }),
      );
      this.server.prepareRuntimeDirs(account);
    });
    await step('Initializing the database files', async () => {
      // The early install (if any) never rejects; when it did not finish the job, install does.
      await this.options.earlyInstall;
      if (isRestored) return;
      if (restore?.kind === 'physical') return restore.writeDatadir(account);
      return this.server.install(account);
    });
    await step('Starting the database server', () => this.server.start(account));

    const connection = await step('Connecting to the database server', () => this.connectAsAdmin());
    try {
      await step('Securing the accounts', async () => {
        const dropped = await secureAccounts(connection);
        if (dropped.length > 0)
          this.logger.info({ dropped }, 'removed anonymous and remote root accounts');
      });
      if (restore?.kind === 'logical') await restore.importInto(this.layout.adminCnf);
      for (const database of params.databases) {
        await step(`Creating database ${database.name}`, () =>
          createDatabase(connection, database),
        );
      }
      for (const user of users) {
        await step(`Creating user ${user.name}`, () => createUser(connection, user));
      }
      const mariadbVersion = await step('Reading the server version', () =>
        readServerVersion(connection),
      );
      return { mariadbVersion };
    } finally {
      await connection.end().catch(() => undefined);
    }
  }

  /**
   * A connection as the guest's own account. When the account is missing or its password
   * does not match (first prepare, or a lost credentials file), it is (re)made through the
   * unix_socket account of the OS user the guest runs as.
   */
  async connectAsAdmin(): Promise<Connection> {
    const { credentials, isNew } = ensureAdminCredentials(this.layout);
    if (!isNew) {
      try {
        return await connectOverSocket(this.layout, credentials.user, credentials.password);
      } catch (error) {
        if (!isAccessDenied(error)) throw error;
      }
    }
    const bootstrapUser = this.serverAccount().bootstrapUser;
    const bootstrap = await connectOverSocket(this.layout, bootstrapUser);
    try {
      await ensureAdminAccount(bootstrap, credentials);
      this.logger.info({ bootstrapUser }, 'created the guest admin account');
    } finally {
      await bootstrap.end().catch(() => undefined);
    }
    return connectOverSocket(this.layout, credentials.user, credentials.password);
  }

  /** The running server's version, for heartbeats (it changes when the server is upgraded). */
  private async refreshVersion(): Promise<void> {
    if (!readAdminCredentials(this.layout)) return;
    try {
      const connection = await this.connectAsAdmin();
      try {
        this.knownVersion = await readServerVersion(connection);
      } finally {
        await connection.end().catch(() => undefined);
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'could not read the server version');
    }
  }

  async restart(): Promise<GuestResult<'restart'>> {
    if (!this.server.isInstalled() || !this.server.hasConfig()) {
      throw new TenantFacingError(
        'The database server cannot be restarted: it has not been prepared yet.',
      );
    }
    // Asked for: not a crash (the supervisor leaves the server alone while it is down).
    this.wantsServerRunning = false;
    await this.server.stop();
    this.options.events.onStatusChange();
    rmSync(this.layout.stoppedMarker, { force: true });
    this.supervisor.reset();
    try {
      await this.server.start(this.serverAccount());
      await this.refreshVersion();
    } finally {
      // Once started (or not: then the supervisor tries again, with its backoff).
      this.wantsServerRunning = true;
      this.options.events.onStatusChange();
    }
    return {};
  }

  async stopDb(): Promise<GuestResult<'stop_db'>> {
    this.wantsServerRunning = false;
    // Stays stopped across a guest restart, until a restart or a prepare.
    if (this.server.hasConfig())
      writeFileAtomic(this.layout.stoppedMarker, `${new Date().toISOString()}\n`);
    await this.server.stop();
    this.options.events.onStatusChange();
    return {};
  }

  async getStatus(): Promise<GuestResult<'get_status'>> {
    const serviceStatus = await this.findServiceStatus();
    this.lastStatus = serviceStatus;
    return { serviceStatus, mariadbVersion: this.knownVersion };
  }

  /** Trove's `_get_actual_db_status`: the phase first, then pid file, process and ping. */
  private async findServiceStatus(): Promise<ServiceStatus> {
    if (this.phase === 'new') return 'NEW';
    if (this.phase === 'building') return 'BUILDING';
    if (this.phase === 'failed') return 'FAILED';
    const probe = await this.server.probe(this.options.pingTimeoutMs);
    if (probe.state !== 'unresponsive') this.unresponsiveSince = null;
    // The supervisor gave up on it: CRASHED until a restart (the fault says why).
    if (this.supervisor.hasGivenUp && probe.state !== 'running') return 'CRASHED';
    switch (probe.state) {
      case 'stopped':
        return 'SHUTDOWN';
      case 'dead':
        return 'CRASHED';
      case 'running':
        if (probe.version) this.knownVersion = probe.version;
        return 'RUNNING';
      case 'unresponsive': {
        const now = Date.now();
        this.unresponsiveSince ??= now;
        if (now - this.unresponsiveSince >= this.options.unresponsiveGraceMs) {
          this.logger.warn(
            { pid: probe.pid, reason: probe.reason },
            'the database server is alive but does not answer',
          );
          return 'CRASHED';
        }
        // A moment without an answer (starting, busy): keep saying what we last said.
        return this.lastStatus;
      }
    }
  }

  // --- Databases, users, access and root (each on a connection of its own) ---

  async listDatabases(): Promise<GuestResult<'list_databases'>> {
    return this.withAdmin('Listing the databases', async (connection) => ({
      databases: await listDatabases(connection),
    }));
  }

  async createDatabase(
    params: MethodParams<'create_database'>,
  ): Promise<GuestResult<'create_database'>> {
    return this.withAdmin(`Creating database ${params.name}`, async (connection) => ({
      database: await createDatabase(connection, params, { mustNotExist: true }),
    }));
  }

  async deleteDatabase(
    params: MethodParams<'delete_database'>,
  ): Promise<GuestResult<'delete_database'>> {
    return this.withAdmin(`Deleting database ${params.name}`, async (connection) => {
      await deleteDatabase(connection, params.name);
      return {};
    });
  }

  async listUsers(): Promise<GuestResult<'list_users'>> {
    return this.withAdmin('Listing the users', async (connection) => ({
      users: await listUsers(connection),
    }));
  }

  async createUser(params: MethodParams<'create_user'>): Promise<GuestResult<'create_user'>> {
    const password = this.openPassword(params.password, params.name);
    return this.withAdmin(`Creating user ${params.name}@${params.host}`, async (connection) => ({
      user: await createUser(connection, { ...params, password }, { mustNotExist: true }),
    }));
  }

  async updateUser(params: MethodParams<'update_user'>): Promise<GuestResult<'update_user'>> {
    const newPassword =
      params.newPassword === undefined
        ? undefined
        : this.openPassword(params.newPassword, params.name);
    return this.withAdmin(`Changing user ${params.name}@${params.host}`, async (connection) => ({
      user: await updateUser(connection, {
        name: params.name,
        host: params.host,
        newHost: params.newHost,
        newPassword,
      }),
    }));
  }

  async deleteUser(params: MethodParams<'delete_user'>): Promise<GuestResult<'delete_user'>> {
    return this.withAdmin(`Deleting user ${params.name}@${params.host}`, async (connection) => {
      await deleteUser(connection, params);
      return {};
    });
  }

  async listAccess(params: MethodParams<'list_access'>): Promise<GuestResult<'list_access'>> {
    return this.withAdmin(
      `Listing the access of ${params.name}@${params.host}`,
      async (connection) => ({
        databases: await listAccess(connection, params),
      }),
    );
  }

  async grantAccess(params: MethodParams<'grant_access'>): Promise<GuestResult<'grant_access'>> {
    return this.withAdmin(`Granting ${params.name}@${params.host} access`, async (connection) => ({
      databases: await grantAccess(connection, params),
    }));
  }

  async revokeAccess(params: MethodParams<'revoke_access'>): Promise<GuestResult<'revoke_access'>> {
    return this.withAdmin(
      `Revoking the access of ${params.name}@${params.host} to ${params.database}`,
      async (connection) => ({
        databases: await revokeAccess(connection, params),
      }),
    );
  }

  async enableRoot(params: MethodParams<'enable_root'>): Promise<GuestResult<'enable_root'>> {
    const password = this.openPassword(params.password, 'root');
    return this.withAdmin('Enabling root', async (connection) => {
      await enableRoot(connection, password);
      this.logger.info('root enabled for remote access');
      return {};
    });
  }

  async disableRoot(): Promise<GuestResult<'disable_root'>> {
    return this.withAdmin('Disabling root', async (connection) => {
      const dropped = await disableRoot(connection);
      this.logger.info({ dropped }, 'root disabled: socket only');
      return {};
    });
  }

  /** A password the control plane sealed for this guest (associated data `user:<name>`). */
  private openPassword(sealed: string, userName: string): string {
    try {
      return openSecret(
        guestKeys(this.options.config.guestSecret).sealing,
        sealed,
        `user:${userName}`,
      );
    } catch (error) {
      if (error instanceof SealError) {
        throw new TenantFacingError(
          `The password of user ${userName} could not be opened: it was not sealed for this instance.`,
        );
      }
      throw error;
    }
  }

  /**
   * Runs SQL administration on a connection as the guest's account, once the server is
   * prepared. A refusal (RequestRefusedError) passes through as it is; anything else says
   * what failed, in words the tenant can read.
   */
  private async withAdmin<T>(
    description: string,
    run: (connection: Connection) => Promise<T>,
  ): Promise<T> {
    if (this.phase !== 'prepared') {
      throw new TenantFacingError(
        `${description} failed: the database server has not been prepared yet.`,
      );
    }
    let connection: Connection;
    try {
      connection = await this.connectAsAdmin();
    } catch (error) {
      throw new TenantFacingError(
        `${description} failed: the database server does not answer (${describeError(error)}).`,
        undefined,
        {
          cause: error,
        },
      );
    }
    try {
      return await run(connection);
    } catch (error) {
      if (error instanceof RequestRefusedError) throw error;
      if (error instanceof z.ZodError) {
        throw new RequestRefusedError({ code: 'BAD_REQUEST', message: describeError(error) });
      }
      throw new TenantFacingError(`${description} failed: ${describeError(error)}`, undefined, {
        cause: error,
      });
    } finally {
      await connection.end().catch(() => undefined);
    }
  }

  // --- Replication (replication.ts) ---

  async getReplicationStatus(): Promise<GuestResult<'get_replication_status'>> {
    return this.withAdmin('Reading the replication status', (connection) =>
      readReplicationStatus(connection),
    );
  }

  /**
   * What heartbeats say about replication: read only while the server runs, within the ping
   * timeout, on a connection of its own; never throws (a beat without it is still a beat).
   */
  async readReplicationForHeartbeat(): Promise<ReplicationStatus | undefined> {
    if (
      this.phase !== 'prepared' ||
      this.lastStatus !== 'RUNNING' ||
      !readAdminCredentials(this.layout)
    )
      return undefined;
    const read = (async () => {
      const connection = await this.connectAsAdmin();
      try {
        return await readReplicationStatus(connection);
      } finally {
        await connection.end().catch(() => undefined);
      }
    })();
    read.catch(() => undefined);
    try {
      return await withTimeout(read, this.options.pingTimeoutMs, 'reading the replication status');
    } catch (error) {
      this.logger.debug({ err: error }, 'replication status not read for the heartbeat');
      return undefined;
    }
  }

  async createReplicationUser(
    params: MethodParams<'create_replication_user'>,
  ): Promise<GuestResult<'create_replication_user'>> {
    const password = this.openReplicationPassword(params.password, params.name);
    return this.withAdmin(`Creating the replication account ${params.name}`, async (connection) => {
      await createReplicationUser(connection, params.name, password);
      this.logger.info({ user: params.name }, 'replication account ready');
      return {};
    });
  }

  async dropReplicationUser(
    params: MethodParams<'drop_replication_user'>,
  ): Promise<GuestResult<'drop_replication_user'>> {
    return this.withAdmin(`Dropping the replication account ${params.name}`, async (connection) => {
      await dropReplicationUser(connection, params.name);
      this.logger.info({ user: params.name }, 'replication account dropped');
      return {};
    });
  }

  async attachReplica(
    params: MethodParams<'attach_replica'>,
  ): Promise<GuestResult<'attach_replica'>> {
    if (params.start.kind === 'snapshot' && params.start.manifestSha256) {
      const restored = readRestoredFrom(this.layout)?.backups.at(-1);
      if (restored?.manifestSha256 !== params.start.manifestSha256) {
        throw new TenantFacingError(
          restored
            ? `This server was restored from a snapshot whose manifest is not the one recorded for it (SHA-256 ${restored.manifestSha256.slice(0, 12)}…, recorded ${params.start.manifestSha256.slice(0, 12)}…): it is not attached.`
            : 'This server was not restored from a snapshot: it is not attached.',
        );
      }
    }
    const password = this.openReplicationPassword(params.password, params.user);
    const source = `${params.source.host}:${params.source.port}`;
    return this.withAdmin(`Replicating from ${source}`, async (connection) => {
      // Read-only in the config first: a restart from here on comes back read-only.
      this.persistReadOnly(true);
      const outcome = await attachReplica(connection, {
        source: params.source,
        user: params.user,
        password,
        start: params.start,
        connectRetrySeconds: params.connectRetrySeconds,
      });
      const status = await waitForReplicaThreads(connection, params.waitSeconds);
      this.logger.info(
        {
          source,
          outcome,
          start: params.start.kind,
          io: status.replica?.ioThread,
          sql: status.replica?.sqlThread,
        },
        'replicating',
      );
      this.options.events.onStatusChange();
      return status;
    });
  }

  async setReadOnly(params: MethodParams<'set_read_only'>): Promise<GuestResult<'set_read_only'>> {
    return this.withAdmin(
      params.isReadOnly ? 'Stopping writes' : 'Allowing writes',
      async (connection) => {
        // Kept in the config on the safe side of a crash: on before the server, off after it.
        if (params.isReadOnly) this.persistReadOnly(true);
        await setReadOnly(connection, params.isReadOnly);
        if (!params.isReadOnly) this.persistReadOnly(false);
        const status = await readReplicationStatus(connection);
        this.logger.info(
          { isReadOnly: params.isReadOnly, gtid: status.gtidBinlogPosition },
          'read_only set',
        );
        this.options.events.onStatusChange();
        return status;
      },
    );
  }

  async waitForGtid(params: MethodParams<'wait_for_gtid'>): Promise<GuestResult<'wait_for_gtid'>> {
    return this.withAdmin(`Waiting for GTID ${params.position}`, async (connection) => {
      const isReached = await waitForGtid(connection, params.position, params.timeoutSeconds);
      return { isReached, status: await readReplicationStatus(connection) };
    });
  }

  async stopReplication(): Promise<GuestResult<'stop_replication'>> {
    return this.withAdmin('Stopping replication', async (connection) => {
      await stopReplication(connection);
      this.persistReadOnly(false);
      const status = await readReplicationStatus(connection);
      this.logger.info(
        { gtid: status.gtidCurrentPosition },
        'replication stopped: the server is writable',
      );
      this.options.events.onStatusChange();
      return status;
    });
  }

  /** read_only in the server's config, so a restart keeps what replication set. */
  private persistReadOnly(isReadOnly: boolean): void {
    if (!this.server.hasConfig()) return;
    const current = readFileSync(this.layout.myCnf, 'utf8');
    const next = withReadOnly(current, isReadOnly);
    if (next !== current) this.server.writeConfig(next);
  }

  /** A replication account's password the control plane sealed for this guest. */
  private openReplicationPassword(sealed: string, userName: string): string {
    try {
      return openSecret(
        guestKeys(this.options.config.guestSecret).sealing,
        sealed,
        replicationPasswordAad(userName),
      );
    } catch (error) {
      if (error instanceof SealError) {
        throw new TenantFacingError(
          `The password of the replication account ${userName} could not be opened: it was not sealed for this instance.`,
        );
      }
      throw error;
    }
  }

  // --- Backups and restores (backup/, loaded on first use) ---

  async createBackup(params: CreateBackupParams): Promise<GuestResult<'create_backup'>> {
    if (this.phase !== 'prepared') {
      throw new TenantFacingError(
        'The backup cannot be made: the database server has not been prepared yet.',
      );
    }
    const { startBackup, findBackupTools } = await import('./backup');
    this.runningBackup = startBackup(
      {
        ...this.backupEnvironment(findBackupTools),
        projectId: this.options.info.projectId,
        connectAsAdmin: () => this.connectAsAdmin(),
        adminCredentials: () => {
          const credentials = readAdminCredentials(this.layout);
          if (!credentials)
            throw new TenantFacingError('The guest has no account on its database server.');
          return credentials;
        },
        report: (report) => this.options.events.onBackupReport(report),
      },
      params,
      this.knownVersion,
    );
    try {
      return await this.runningBackup.done;
    } finally {
      this.runningBackup = null;
    }
  }

  /**
   * The guest is stopping: a backup under way stops (it fails, and removes what it stored),
   * and so does a restore's fetch (one following a snapshot may be waiting for its chunks).
   */
  interruptLongOperations(): void {
    this.supervisor.stop();
    this.runningBackup?.interrupt();
    this.restoreAbort?.abort();
  }

  private backupEnvironment(findBackupTools: FindBackupTools) {
    return {
      instanceId: this.options.info.instanceId,
      datastoreVersion: this.options.info.datastoreVersion,
      layout: this.layout,
      guestSecret: this.options.config.guestSecret,
      path: this.options.path,
      tools: () => findBackupTools({ path: this.options.path }),
      logger: this.logger.child({ component: 'backup' }),
    };
  }

  /**
   * Whether the datadir is the finished physical restore of exactly `spec`'s chain: its
   * marker (restored-from.json) is written before the complete scratch directory is renamed
   * to the datadir, so a datadir with a matching marker is whole. A half-done restore
   * never reached the datadir (it is redone); a datadir restored from anything else is not
   * this restore (writeDatadir refuses it).
   */
  private isRestoredFrom(spec: NonNullable<PrepareParams['restore']>): boolean {
    if (spec.backups[0]!.type === 'LOGICAL') return false;
    if (!existsSync(join(this.layout.datadir, 'mysql'))) return false;
    const restored = readRestoredFrom(this.layout)?.backups;
    return (
      restored?.length === spec.backups.length &&
      spec.backups.every(
        (backup, i) =>
          restored[i]!.backupId === backup.backupId &&
          (backup.manifestSha256 === null || restored[i]!.manifestSha256 === backup.manifestSha256),
      )
    );
  }

  private async fetchRestore(
    spec: NonNullable<PrepareParams['restore']>,
  ): Promise<VerifiedRestore> {
    const { VerifiedRestore, findBackupTools } = await import('./backup');
    this.restoreAbort = new AbortController();
    const { signal } = this.restoreAbort;
    try {
      return await step('Fetching and verifying the backup', () =>
        VerifiedRestore.fetch({ ...this.backupEnvironment(findBackupTools), signal }, spec),
      );
    } finally {
      this.restoreAbort = null;
    }
  }

  /** A backup a previous guest process left half-made: say it FAILED (the control plane removes its objects). */
  private async reportInterruptedBackup(): Promise<void> {
    if (!existsSync(backupMarkerPath(this.layout))) return;
    const { takeInterruptedBackup } = await import('./backup');
    const backupId = takeInterruptedBackup(this.layout);
    if (!backupId) return;
    this.logger.warn({ backupId }, 'a backup was interrupted by a guest restart');
    await this.options.events
      .onBackupReport({
        backupId,
        status: 'FAILED',
        progress: 0,
        storedBytes: 0,
        rawBytes: 0,
        message: 'The backup was interrupted: the guest restarted while it was being made.',
      })
      .catch((error: unknown) =>
        this.logger.error({ err: error, backupId }, 'could not report the interrupted backup'),
      );
  }

  async shutdown(): Promise<void> {
    this.supervisor.stop();
    this.wantsServerRunning = false;
    await this.server.stop();
  }

  /** The final word of a stopping guest. */
  shutdownStatus(): ServiceStatus {
    return this.phase === 'failed' ? 'FAILED' : 'SHUTDOWN';
  }

  private setPhase(phase: Phase): void {
    this.phase = phase;
    this.options.events.onStatusChange();
  }

  private serverAccount(): ServerAccount {
    this.account ??= chooseServerAccount(
      [this.layout.volumeDir, this.layout.runDir, this.layout.logDir],
      (message) => this.logger.warn(message),
    );
    return this.account;
  }

  private readPreparedVersion(): string | null {
    try {
      const marker = JSON.parse(readFileSync(this.layout.preparedMarker, 'utf8')) as {
        mariadbVersion?: unknown;
      };
      return typeof marker.mariadbVersion === 'string' ? marker.mariadbVersion : null;
    } catch {
      return null;
    }
  }
}

/** Runs one step of prepare; a failure says, in the tenant's words, which step failed and why. */
async function step<T>(description: string, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof TenantFacingError) throw error;
    const reason = describeError(error);
    throw new TenantFacingError(
      `${description} failed: ${reason}`,
      error instanceof ServerProcessError ? error.details : undefined,
      {
        cause: error,
      },
    );
  }
}

function describeError(error: unknown): string {
  if (error instanceof ConfigOverrideError || error instanceof ServerProcessError)
    return error.message;
  if (error instanceof z.ZodError) return error.issues.map((issue) => issue.message).join('; ');
  const sqlMessage = (error as { sqlMessage?: unknown } | null)?.sqlMessage;
  if (typeof sqlMessage === 'string') return sqlMessage;
  if (error instanceof Error) return error.message;
  return String(error);
}

function toFault(error: unknown): FaultPayload {
  const message =
    error instanceof TenantFacingError
      ? error.message
      : `Preparing the database server failed: ${describeError(error)}`;
  const details = error instanceof TenantFacingError ? error.details : undefined;
  return {
    operation: 'prepare',
    message: message.slice(0, 2000),
    ...(details ? { details: details.slice(0, 20_000) } : {}),
  };
}
