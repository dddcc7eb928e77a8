import { readFileSync } from 'node:fs';

import { type GuestResult, type ReplicationStatus } from '@coffer/contracts';

import { withTimeout } from '../../../lib/timeout';
import { TenantFacingError } from '../../../errors';
import { type MethodParams } from '../../datastore-manager';
import { readAdminCredentials } from '../admin-connection';
import { readRestoredFrom } from '../backup/restored-from';
import { withReadOnly } from '../my-cnf';
import {
  attachReplica,
  createReplicationUser,
  dropReplicationUser,
  readReplicationStatus,
  setReadOnly,
  stopReplication,
  waitForGtid,
  waitForReplicaThreads,
} from '../replication';
import { type AdminSession } from './admin-session';
import { type MariadbRuntime } from './runtime';
import { openReplicationPassword } from './sealed-passwords';
import { type ServerState } from './server-state';

/** How long one MASTER_GTID_WAIT lasts before the replication is looked at again. */
const WAIT_SLICE_SECONDS = 2;

/**
 * Replication (Trove's replication strategy for MariaDB, GTID based): its status, the
 * replication accounts, attaching a replica, read-only, waiting for a position, stopping.
 * The SQL is in ../replication.ts.
 */
export class MariadbReplication {
  constructor(
    private readonly runtime: MariadbRuntime,
    private readonly state: ServerState,
    private readonly session: AdminSession,
  ) {}

  async getReplicationStatus(): Promise<GuestResult<'get_replication_status'>> {
    return this.session.run('Reading the replication status', (connection) =>
      readReplicationStatus(connection),
    );
  }

  /**
   * What heartbeats say about replication: read only while the server runs, within the ping
   * timeout, on a connection of its own; never throws (a beat without it is still a beat).
   */
  async readReplicationForHeartbeat(): Promise<ReplicationStatus | undefined> {
    if (
      this.state.phase !== 'prepared' ||
      this.state.lastStatus !== 'RUNNING' ||
      !readAdminCredentials(this.runtime.layout)
    )
      return undefined;
    const read = (async () => {
      const connection = await this.session.connect();
      try {
        return await readReplicationStatus(connection);
      } finally {
        await connection.end().catch(() => undefined);
      }
    })();
    read.catch(() => undefined);
    try {
      return await withTimeout(
        read,
        this.runtime.options.pingTimeoutMs,
        'reading the replication status',
      );
    } catch (error) {
      this.runtime.logger.debug({ err: error }, 'replication status not read for the heartbeat');
      return undefined;
    }
  }

  async createReplicationUser(
    params: MethodParams<'create_replication_user'>,
  ): Promise<GuestResult<'create_replication_user'>> {
    const password = this.openPassword(params.password, params.name);
    return this.session.run(
      `Creating the replication account ${params.name}`,
      async (connection) => {
        await createReplicationUser(connection, params.name, password);
        this.runtime.logger.info({ user: params.name }, 'replication account ready');
        return {};
      },
    );
  }

  async dropReplicationUser(
    params: MethodParams<'drop_replication_user'>,
  ): Promise<GuestResult<'drop_replication_user'>> {
    return this.session.run(
      `Dropping the replication account ${params.name}`,
      async (connection) => {
        await dropReplicationUser(connection, params.name);
        this.runtime.logger.info({ user: params.name }, 'replication account dropped');
        return {};
      },
    );
  }

  async attachReplica(
    params: MethodParams<'attach_replica'>,
  ): Promise<GuestResult<'attach_replica'>> {
    if (params.start.kind === 'snapshot' && params.start.manifestSha256) {
      const restored = readRestoredFrom(this.runtime.layout)?.backups.at(-1);
      if (restored?.manifestSha256 !== params.start.manifestSha256) {
        throw new TenantFacingError(
          restored
            ? `This server was restored from a snapshot whose manifest is not the one recorded for it (SHA-256 ${restored.manifestSha256.slice(0, 12)}…, recorded ${params.start.manifestSha256.slice(0, 12)}…): it is not attached.`
            : 'This server was not restored from a snapshot: it is not attached.',
        );
      }
    }
    const password = this.openPassword(params.password, params.user);
    const source = `${params.source.host}:${params.source.port}`;
    return this.session.run(`Replicating from ${source}`, async (connection) => {
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
      this.runtime.logger.info(
        {
          source,
          outcome,
          start: params.start.kind,
          io: status.replica?.ioThread,
          sql: status.replica?.sqlThread,
        },
        'replicating',
      );
      this.runtime.events.onStatusChange();
      return status;
    });
  }

  async setReadOnly(params: MethodParams<'set_read_only'>): Promise<GuestResult<'set_read_only'>> {
    return this.session.run(
      params.isReadOnly ? 'Stopping writes' : 'Allowing writes',
      async (connection) => {
        // Kept in the config on the safe side of a crash: on before the server, off after it.
        if (params.isReadOnly) this.persistReadOnly(true);
        await setReadOnly(connection, params.isReadOnly);
        if (!params.isReadOnly) this.persistReadOnly(false);
        const status = await readReplicationStatus(connection);
        this.runtime.logger.info(
          { isReadOnly: params.isReadOnly, gtid: status.gtidBinlogPosition },
          'read_only set',
        );
        this.runtime.events.onStatusChange();
        return status;
      },
    );
  }

  /**
   * Waits, a slice at a time, until the server applied `position` or the timeout ends. Between
   * slices it looks at its replication: one whose SQL thread stopped on an error, or that has
   * none, will apply nothing more, so the answer is given at once rather than at the timeout;
   * threads stopped without an error (a server restarted after a crash that did not start
   * them) are started again, as the replica was asked to replicate.
   */
  async waitForGtid(params: MethodParams<'wait_for_gtid'>): Promise<GuestResult<'wait_for_gtid'>> {
    return this.session.run(`Waiting for GTID ${params.position}`, async (connection) => {
      const deadline = Date.now() + params.timeoutSeconds * 1000;
      for (;;) {
        const left = Math.ceil((deadline - Date.now()) / 1000);
        const slice = Math.max(1, Math.min(WAIT_SLICE_SECONDS, left));
        if (await waitForGtid(connection, params.position, slice)) {
          return { isReached: true, status: await readReplicationStatus(connection) };
        }
        const status = await readReplicationStatus(connection);
        const threads = status.replica;
        // An I/O error is waited out (the source may be restarting); an SQL error is not.
        const isApplyBroken = threads?.sqlThread === 'STOPPED' && threads.lastSqlError !== null;
        if (!threads || isApplyBroken || Date.now() >= deadline) {
          return { isReached: false, status };
        }
        if (
          threads.ioThread === 'STOPPED' &&
          threads.sqlThread === 'STOPPED' &&
          !threads.lastIoError &&
          !threads.lastSqlError
        ) {
          this.runtime.logger.warn(
            { position: params.position },
            'replication was stopped without an error: starting it again to reach the position',
          );
          await connection.query('START SLAVE');
        }
      }
    });
  }

  async stopReplication(): Promise<GuestResult<'stop_replication'>> {
    return this.session.run('Stopping replication', async (connection) => {
      await stopReplication(connection);
      this.persistReadOnly(false);
      const status = await readReplicationStatus(connection);
      this.runtime.logger.info(
        { gtid: status.gtidCurrentPosition },
        'replication stopped: the server is writable',
      );
      this.runtime.events.onStatusChange();
      return status;
    });
  }

  /** read_only in the server's config, so a restart keeps what replication set. */
  private persistReadOnly(isReadOnly: boolean): void {
    const { server, layout } = this.runtime;
    if (!server.hasConfig()) return;
    const current = readFileSync(layout.myCnf, 'utf8');
    const next = withReadOnly(current, isReadOnly);
    if (next !== current) server.writeConfig(next);
  }

  private openPassword(sealed: string, userName: string): string {
    return openReplicationPassword(this.runtime.options.config.guestSecret, sealed, userName);
  }
}
