import { join } from 'node:path';

import { type GuestAgentConfig } from '@coffer/contracts';

import { GuestConfigError } from '../../config';

/** Where everything of the server lives, from the agent config. */
export interface MariadbLayout {
  /** The guest's config dir (the injected files, and the admin credentials it keeps). */
  configDir: string;
  volumeDir: string;
  /** The server's datadir, inside the volume. */
  datadir: string;
  /** Where mariadb-install-db writes before the result is renamed to `datadir`. */
  installDir: string;
  /** The defaults file, in the volume so it survives with the data. */
  myCnf: string;
  /**
   * The server's temporary files, on its own volume: never the shared /tmp, where servers
   * (and concurrent mariadb-install-db bootstraps) would collide on temporary table names.
   */
  tmpDir: string;
  runDir: string;
  socket: string;
  pidFile: string;
  logDir: string;
  logError: string;
  /** The guest's own admin account, as a client option file (0600). */
  adminCnf: string;
  /** Written when prepare completed; the server is then ours to run. */
  preparedMarker: string;
  /** Written when prepare failed (with its message), so a restarted guest still says FAILED. */
  failedMarker: string;
  /** Written by stop_db: the server stays stopped across a guest restart, until a restart or prepare. */
  stoppedMarker: string;
}

/** A unix socket path must fit in `sun_path` (108 bytes with its NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

export function layoutOf(
  configDir: string,
  datastore: GuestAgentConfig['datastore'],
): MariadbLayout {
  const { volumeDir, runDir, logDir } = datastore;
  return {
    configDir,
    volumeDir,
    datadir: join(volumeDir, 'data'),
    installDir: join(volumeDir, 'data.installing'),
    myCnf: join(volumeDir, 'my.cnf'),
    tmpDir: join(volumeDir, 'tmp'),
    runDir,
    socket: join(runDir, 'mysqld.sock'),
    pidFile: join(runDir, 'mysqld.pid'),
    logDir,
    logError: join(logDir, 'mariadb.err'),
    adminCnf: join(configDir, 'coffer-admin.cnf'),
    preparedMarker: join(volumeDir, '.coffer-prepared'),
    failedMarker: join(volumeDir, '.coffer-prepare-failed'),
    stoppedMarker: join(volumeDir, '.coffer-stopped'),
  };
}

/**
 * The server's socket must fit a unix socket path: refused as a config error (the guest does
 * not start) rather than found when the server fails to bind it.
 */
export function checkSocketPathFits(
  configDir: string,
  datastore: GuestAgentConfig['datastore'],
): void {
  const { socket } = layoutOf(configDir, datastore);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES) {
    throw new GuestConfigError(
      `the server socket path ${socket} is longer than ${MAX_SOCKET_PATH_BYTES} bytes; give datastore.runDir a shorter path`,
    );
  }
}
