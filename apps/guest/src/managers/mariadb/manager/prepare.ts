import { type FaultPayload, type GuestResult } from '@coffer/contracts';

import { TenantFacingError } from '../../../errors';
import { type PrepareParams } from '../../datastore-manager';
import { renderMyCnf } from '../my-cnf';
import { createDatabase, createUser, readServerVersion, secureAccounts } from '../sql';
import { type AdminSession } from './admin-session';
import { type MariadbBackups } from './backups';
import { describeError, step } from './describe-failure';
import { type MariadbRuntime } from './runtime';
import { openUserPassword } from './sealed-passwords';

/**
 * Prepare's steps (Trove's `prepare`): configure, install or restore the datadir, start the
 * server, secure it, then the databases and users asked for. Each step's failure names it.
 */
export async function runPrepare(
  runtime: MariadbRuntime,
  session: AdminSession,
  backups: MariadbBackups,
  params: PrepareParams,
): Promise<GuestResult<'prepare'>> {
  const { server, layout, options, logger } = runtime;
  const account = runtime.serverAccount();
  // A prepare run again (its job handed back after the guest died) finds the datadir its
  // first run restored from this very chain: that datadir is kept, not fetched again.
  const isRestored = params.restore !== undefined && backups.isRestoredFrom(params.restore);
  if (isRestored) logger.info('the datadir was already restored from these backups: kept');
  // A restore fetches and verifies every chunk of its backups before anything is written.
  const restore = params.restore && !isRestored ? await backups.fetchRestore(params.restore) : null;
  // Open every sealed password first: one that does not open fails prepare before anything is touched.
  const users = params.users.map((user) => ({
    ...user,
    password: openUserPassword(options.config.guestSecret, user.password, user.name),
  }));

  await step('Writing the database server configuration', async () => {
    const { datastore } = options.config;
    server.writeConfig(
      renderMyCnf({
        instanceId: options.info.instanceId,
        resources: { memoryMb: params.memoryMb, vcpus: params.vcpus },
        port: datastore.port,
        bindAddress: datastore.bindAddress,
        datadir: layout.datadir,
        socket: layout.socket,
        pidFile: layout.pidFile,
        logError: layout.logError,
        tmpDir: layout.tmpDir,
        isReadOnly: params.isReadOnly,
        overrides: params.configOverrides,
      }),
    );
    server.prepareRuntimeDirs(account);
  });
  await step('Initializing the database files', async () => {
    // The early install (if any) never rejects; when it did not finish the job, install does.
    await options.earlyInstall;
    // A server the early boot started (early-install.ts) is kept only when this prepare would
    // start it the same way, and never under a datadir about to be restored.
    if (server.runningPid() !== null && (restore !== null || server.isStale(account))) {
      logger.info('the server started at boot runs with other settings: stopped');
      await server.stop();
    }
    if (isRestored) return;
    if (restore?.kind === 'physical') return restore.writeDatadir(account);
    return server.install(account);
  });
  await step('Starting the database server', () => server.start(account));

  const connection = await step('Connecting to the database server', () => session.connect());
  try {
    await step('Securing the accounts', async () => {
      const dropped = await secureAccounts(connection);
      if (dropped.length > 0)
        logger.info({ dropped }, 'removed anonymous and remote root accounts');
    });
    if (restore?.kind === 'logical') await restore.importInto(layout.adminCnf);
    for (const database of params.databases) {
      await step(`Creating database ${database.name}`, () => createDatabase(connection, database));
    }
    for (const user of users) {
      await step(`Creating user ${user.name}`, () => createUser(connection, user));
    }
    const mariadbVersion = await step('Reading the server version', () =>
      readServerVersion(connection),
    );
    return { serverVersion: mariadbVersion };
  } finally {
    await connection.end().catch(() => undefined);
  }
}

/** A failed prepare as the instance's fault. */
export function toFault(error: unknown): FaultPayload {
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
