import { closeSync, existsSync, lchownSync, openSync } from 'node:fs';
import { join } from 'node:path';

import { type EarlyBootHook } from '../registry';
import { findMariadbBinaries } from './binaries';
import { parseMariadbEnv } from './env';
import { layoutOf } from './layout';
import { renderMyCnf } from './my-cnf';
import { connectOverSocket, ensureAdminCredentials } from './admin-connection';
import { chooseServerAccount, type ServerAccount } from './server-account';
import { MariadbServer } from './server-process';
import { ensureAdminAccount } from './sql';

/**
 * MariaDB's early boot hook (registered in datastore.ts; boot/early-install.ts runs it): on a
 * fresh server whose agent config says what it will be sized for, start `mariadb-install-db`
 * first thing, while Node loads the rest of the agent and connects to its queue. `prepare` then finds the datadir
 * installed (or waits for the install still running). Installing needs nothing that `prepare`
 * brings, and `prepare` rewrites my.cnf with the final settings.
 *
 * Then, still before `prepare` arrives (issue 18's sub-second creates), the server is started
 * with that my.cnf and the options the guest's manager starts it with (its logs' files), and
 * the guest's own admin account is made (its password is the guest's, not the tenant's):
 * the server's start overlaps the agent's start-up and the RPC's way here. `prepare` keeps the
 * server when its my.cnf and options are the same (a plain create: the same flavor, no
 * configuration group, not read-only), and restarts it otherwise (server-process.ts, isStale).
 * The server is not the tenant's yet: the guest reports NEW/BUILDING until prepare is done,
 * and nothing listens on it for the tenant (their accounts come with prepare).
 * The returned promise never rejects.
 */
export const mariadbEarlyInstall: EarlyBootHook = ({
  configDir,
  instanceId,
  preinstall,
  datastore,
  env,
  logger,
}) => {
  const { volumeDir, runDir, logDir, port } = datastore;
  if (
    typeof volumeDir !== 'string' ||
    typeof runDir !== 'string' ||
    typeof logDir !== 'string' ||
    typeof port !== 'number' ||
    !Number.isInteger(port)
  ) {
    return null;
  }
  const bindAddress =
    typeof datastore.bindAddress === 'string' ? datastore.bindAddress : '127.0.0.1';
  const layout = layoutOf(configDir, { volumeDir, runDir, logDir, port, bindAddress });
  // Only a server that was never prepared, and whose volume holds no datadir yet.
  if (
    existsSync(layout.preparedMarker) ||
    existsSync(layout.failedMarker) ||
    existsSync(layout.datadir)
  )
    return null;

  // Throws for an unusable setting: no early install (the agent refuses to start then).
  const { binDir, templateDir } = parseMariadbEnv(env.vars);
  const server = new MariadbServer({
    layout,
    findBinaries: () => findMariadbBinaries({ path: env.path, binDir }),
    path: env.path,
    logger,
    templateDir,
  });
  return (async () => {
    const startedAt = Date.now();
    let account: ServerAccount;
    try {
      account = chooseServerAccount([layout.volumeDir, layout.runDir, layout.logDir], (message) =>
        logger.warn(message),
      );
      server.writeConfig(
        renderMyCnf({
          instanceId,
          resources: preinstall,
          port,
          bindAddress,
          datadir: layout.datadir,
          socket: layout.socket,
          pidFile: layout.pidFile,
          logError: layout.logError,
          tmpDir: layout.tmpDir,
        }),
      );
      server.prepareRuntimeDirs(account);
      await server.install(account);
      logger.info({ ms: Date.now() - startedAt }, 'early install done');
    } catch (error) {
      // prepare installs again (from scratch) and reports what goes wrong then.
      logger.warn(
        { err: error, ms: Date.now() - startedAt },
        'early install failed; prepare will install',
      );
      return;
    }
    try {
      // The options the manager starts it with (manager/logs.ts: a fresh server's logs are off).
      const logFiles = ['slow', 'general'].map((name) => join(layout.logDir, `${name}.log`));
      for (const file of logFiles) {
        closeSync(openSync(file, 'a', 0o640));
        if (account.owner) lchownSync(file, account.owner.uid, account.owner.gid);
      }
      server.extraArgs = () => [
        `--slow_query_log_file=${logFiles[0]}`,
        `--general_log_file=${logFiles[1]}`,
      ];
      await server.start(account);
      const { credentials } = ensureAdminCredentials(layout);
      const bootstrap = await connectOverSocket(layout, account.bootstrapUser);
      try {
        await ensureAdminAccount(bootstrap, credentials);
      } finally {
        await bootstrap.end().catch(() => undefined);
      }
      logger.info({ ms: Date.now() - startedAt }, 'early start done');
    } catch (error) {
      // prepare starts it (again) and reports what goes wrong then.
      await server.stop().catch(() => undefined);
      logger.warn(
        { err: error, ms: Date.now() - startedAt },
        'early start failed; prepare will start',
      );
    }
  })();
};
