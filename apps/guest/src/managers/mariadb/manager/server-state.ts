import { existsSync, readFileSync } from 'node:fs';

import { type ServiceStatus } from '@coffer/contracts';

import { type MariadbLayout } from '../layout';

/** Where the guest is in the instance's life, beside what the server process says. */
export type Phase = 'new' | 'building' | 'failed' | 'prepared';

/**
 * What the parts of the manager know of the server: the lifecycle changes it, admin,
 * replication and backups read it. Known from the markers before the first heartbeat: a
 * restarted guest of a prepared instance never says NEW.
 */
export class ServerState {
  phase: Phase;
  /** What the last status read said (a moment without an answer repeats it). */
  lastStatus: ServiceStatus;
  /** The running server's version, for heartbeats (it changes when the server is upgraded). */
  knownVersion: string | null;

  constructor(layout: MariadbLayout) {
    this.phase = existsSync(layout.preparedMarker)
      ? 'prepared'
      : existsSync(layout.failedMarker)
        ? 'failed'
        : 'new';
    this.lastStatus = this.phase === 'prepared' ? 'SHUTDOWN' : 'NEW';
    this.knownVersion = readPreparedVersion(layout);
  }

  get isPrepared(): boolean {
    return this.phase === 'prepared';
  }
}

function readPreparedVersion(layout: MariadbLayout): string | null {
  try {
    const marker = JSON.parse(readFileSync(layout.preparedMarker, 'utf8')) as {
      serverVersion?: unknown;
      mariadbVersion?: unknown;
    };
    // The marker holds prepare's result: `mariadbVersion` until the contracts named it `serverVersion`.
    const version = marker.serverVersion ?? marker.mariadbVersion;
    return typeof version === 'string' ? version : null;
  } catch {
    return null;
  }
}
