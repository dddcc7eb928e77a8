import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  backupKeyAad,
  backupStoreAad,
  objectStoreConfigSchema,
  type BackupReport,
  type ObjectStoreConfig,
  type SealedSecret,
} from '@coffer/contracts';
import { guestKeys, openSecret, SealError } from '@coffer/contracts/crypto';
import { writeFileAtomic } from '@coffer/host';
import { type Connection } from 'mysql2/promise';
import { type Logger } from 'pino';

import { TenantFacingError } from '../../datastore-manager';
import { type AdminCredentials } from '../admin-connection';
import { type MariadbLayout } from '../layout';
import { backupMarkerPath } from './marker';
import { type BackupTools } from './tools';

/** What backups and restores need from the manager (passed in, so this code loads only when used). */
export interface BackupContext {
  instanceId: string;
  projectId: string;
  /** The datastore version name, e.g. "10.11". */
  datastoreVersion: string;
  layout: MariadbLayout;
  guestSecret: string;
  path: string;
  tools: () => BackupTools;
  logger: Logger;
  /** A connection as the guest's account (which it makes or repairs first). */
  connectAsAdmin: () => Promise<Connection>;
  /** The guest's account, valid once connectAsAdmin has succeeded. */
  adminCredentials: () => AdminCredentials;
  /** Sends a backup report to the conductor. */
  report: (report: BackupReport) => Promise<void>;
}

/** The project's backup key and the object store, opened from what the control plane sealed for this operation. */
export function openBackupAccess(
  guestSecret: string,
  operationId: string,
  sealed: { key: SealedSecret; store: SealedSecret },
): { key: Buffer; store: ObjectStoreConfig } {
  const { sealing } = guestKeys(guestSecret);
  try {
    const key = Buffer.from(openSecret(sealing, sealed.key, backupKeyAad(operationId)), 'base64');
    if (key.length !== 32) throw new SealError();
    const store = objectStoreConfigSchema.parse(
      JSON.parse(openSecret(sealing, sealed.store, backupStoreAad(operationId))),
    );
    return { key, store };
  } catch (error) {
    throw new TenantFacingError(
      'The backup key or the object store settings could not be opened: they were not sealed for this instance and operation.',
      undefined,
      { cause: error },
    );
  }
}

/**
 * A scratch directory on the volume for one operation (never the shared /tmp), with a
 * client option file for the tools: it includes the server's my.cnf (so mariadb-backup
 * finds the datadir and InnoDB settings) and adds the guest's account, so no password ever
 * appears on a command line. Removed when the operation ends.
 */
export function makeWorkDir(
  ctx: Pick<BackupContext, 'layout' | 'adminCredentials'>,
  name: string,
): { dir: string; clientCnf: string; remove: () => void } {
  const dir = join(ctx.layout.volumeDir, 'backup-work', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const clientCnf = join(dir, 'client.cnf');
  const { user, password } = ctx.adminCredentials();
  writeFileSync(
    clientCnf,
    [
      `!include ${ctx.layout.myCnf}`,
      '[client]',
      `user = ${user}`,
      `password = ${password}`,
      `socket = ${ctx.layout.socket}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return { dir, clientCnf, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// ---------------------------------------------------------------------------------------
// The marker of a backup under way: a guest that restarts mid-backup reports it FAILED, and
// refuses the RPC job if it comes back (a stalled job is handed to the restarted guest).
// ---------------------------------------------------------------------------------------

function markerPath(layout: MariadbLayout): string {
  return backupMarkerPath(layout);
}

function abandonedPath(layout: MariadbLayout): string {
  return join(layout.volumeDir, '.coffer-backups-abandoned.json');
}

export function markBackupRunning(layout: MariadbLayout, backupId: string): void {
  writeFileAtomic(
    markerPath(layout),
    `${JSON.stringify({ backupId, startedAt: new Date().toISOString() })}\n`,
    0o600,
  );
}

export function clearBackupRunning(layout: MariadbLayout): void {
  rmSync(markerPath(layout), { force: true });
}

function readAbandoned(layout: MariadbLayout): string[] {
  try {
    const list = JSON.parse(readFileSync(abandonedPath(layout), 'utf8')) as unknown;
    return Array.isArray(list) ? list.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}

export function isBackupAbandoned(layout: MariadbLayout, backupId: string): boolean {
  return readAbandoned(layout).includes(backupId);
}

/** The backup a previous guest process left unfinished (and forgets it, remembering it as abandoned). */
export function takeInterruptedBackup(layout: MariadbLayout): string | null {
  let backupId: string | null = null;
  try {
    const marker = JSON.parse(readFileSync(markerPath(layout), 'utf8')) as { backupId?: unknown };
    if (typeof marker.backupId === 'string') backupId = marker.backupId;
  } catch {
    return null;
  }
  if (backupId) {
    const abandoned = [...readAbandoned(layout).filter((id) => id !== backupId), backupId].slice(
      -50,
    );
    writeFileAtomic(abandonedPath(layout), `${JSON.stringify(abandoned)}\n`, 0o600);
  }
  clearBackupRunning(layout);
  rmSync(join(layout.volumeDir, 'backup-work'), { recursive: true, force: true });
  return backupId;
}
