/** Backup manifests for the contracts' tests: one written today's way, ids and MariaDB's details. */

export const MANIFEST_IDS = {
  backupId: '6f1c1f7e-2f0a-4d6c-9b0e-3c8f0b8f7a10',
  parentId: '2b3c4d5e-6f70-4a81-9b2c-3d4e5f607182',
  projectId: '0a0b6a3e-51d4-4b7b-8b6f-1e2d3c4b5a69',
  instanceId: '7d9e8f70-1a2b-4c3d-8e4f-5a6b7c8d9e0f',
};

/** What MariaDB's manager records of a physical backup (LSNs past 2^53, binlog, GTID). */
export const MARIADB_RECORDED = {
  lsn: { from: '0', to: '98765432109876543210', last: '98765432109876543210' },
  binlog: { file: 'mysql-bin.000002', position: 4 },
  gtid: '0-1-9',
};

/** A FULL manifest without `details`: add them (or an old manifest's top-level fields). */
export function manifestWithoutDetails(
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    format: 'coffer-backup/1',
    backupId: MANIFEST_IDS.backupId,
    projectId: MANIFEST_IDS.projectId,
    instanceId: MANIFEST_IDS.instanceId,
    type: 'FULL',
    strategy: 'mariadb-backup',
    datastore: { manager: 'mariadb', version: '10.11', serverVersion: null },
    parent: null,
    compression: 'zstd',
    encryption: { algorithm: 'aes-256-gcm', key: 'project' },
    chunkSize: 1024,
    chunks: [],
    rawBytes: 0,
    storedBytes: 0,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
    ...overrides,
  };
}
