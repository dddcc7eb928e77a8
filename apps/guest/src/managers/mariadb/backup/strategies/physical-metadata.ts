import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { type MariadbBackupDetails } from '@coffer/contracts/datastores/mariadb';

/** What mariadb-backup says about its backup (the manifest's LSNs, binlog position, GTID), and what it will read. */

/** The bytes mariadb-backup will read, about: the datadir without binary logs, redo log and temporary tablespace. */
export function estimateDatadirBytes(datadir: string): number {
  let total = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (
        entry.isFile() &&
        !/^(mysql-bin\.|ib_logfile|ibtmp|.*\.err$|.*\.pid$)/.test(entry.name)
      ) {
        try {
          total += statSync(path).size;
        } catch {
          // gone meanwhile
        }
      }
    }
  };
  try {
    walk(datadir);
  } catch {
    return 0;
  }
  return total;
}

function parseKeyValues(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\s*([a-z_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match?.[1]) values.set(match[1], match[2] ?? '');
  }
  return values;
}

/** LSNs, binlog position and GTID from the files mariadb-backup left in --extra-lsndir. */
export function readPhysicalMetadata(lsnDir: string): MariadbBackupDetails {
  const checkpoints = parseKeyValues(readFileSync(join(lsnDir, 'xtrabackup_checkpoints'), 'utf8'));
  const from = checkpoints.get('from_lsn');
  const to = checkpoints.get('to_lsn');
  const last = checkpoints.get('last_lsn');
  if (!from || !to || !last || ![from, to, last].every((lsn) => /^[0-9]+$/.test(lsn))) {
    throw new Error('mariadb-backup left no checkpoint LSNs');
  }
  let binlog: MariadbBackupDetails['binlog'] = null;
  let gtid: string | null = null;
  try {
    const info = parseKeyValues(readFileSync(join(lsnDir, 'xtrabackup_info'), 'utf8'));
    // e.g. filename 'mysql-bin.000001', position '845', GTID of the last change '0-7-3'
    const match =
      /filename '([^']+)', position '(\d+)'(?:, GTID of the last change '([^']*)')?/.exec(
        info.get('binlog_pos') ?? '',
      );
    if (match?.[1] && match[2]) {
      binlog = { file: match[1], position: Number(match[2]) };
      gtid = match[3] || null;
    }
  } catch {
    // No binary log position (a server without log-bin): nothing to record.
  }
  return { lsn: { from, to, last }, binlog, gtid };
}
