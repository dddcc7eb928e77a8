import { existsSync } from 'node:fs';

import { type EarlyBootHook } from '../registry';
import { findMariadbBinaries } from './binaries';
import { parseMariadbEnv } from './env';
import { layoutOf } from './layout';
import { renderMyCnf } from './my-cnf';
import { chooseServerAccount } from './server-account';
import { MariadbServer } from './server-process';

/**
 * MariaDB's early boot hook (registered in datastore.ts; boot/early-install.ts runs it): on a
 * fresh server whose agent config says what it will be sized for, start `mariadb-install-db`
 * first thing, while Node loads the rest of the agent and connects to its queue. `prepare` then finds the datadir
 * installed (or waits for the install still running). Installing needs nothing that `prepare`
 * brings, and `prepare` rewrites my.cnf with the final settings before the server first starts.
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
    try {
      const account = chooseServerAccount(
        [layout.volumeDir, layout.runDir, layout.logDir],
        (message) => logger.warn(message),
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
    }
  })();
};
