import { describe, expect, it } from 'vitest';

import { backupManifestSchema, backupReportSchema, createBackupParamsSchema } from './backup';
import { mariadbBackupDetailsSchema, mariadbIncrementalBase } from './datastores/mariadb';
import { MANIFEST_IDS, manifestWithoutDetails, MARIADB_RECORDED } from '../test/manifests';

const ids = MANIFEST_IDS;
const recorded = MARIADB_RECORDED;

/** An incremental's manifest as guests wrote it before the parent's `base` and `details`. */
const oldIncremental = manifestWithoutDetails({
  type: 'INCREMENTAL',
  datastore: { manager: 'mariadb', version: '10.11', serverVersion: '10.11.6-MariaDB' },
  parent: { backupId: ids.parentId, toLsn: '98765432109876543210' },
  ...recorded,
});

describe('backup shapes', () => {
  it("parse an old incremental manifest: its parent's toLsn becomes its base, its LSNs its details", () => {
    const manifest = backupManifestSchema.parse(oldIncremental);
    expect(manifest.parent).toEqual({ backupId: ids.parentId, base: '98765432109876543210' });
    expect(manifest.parent).not.toHaveProperty('toLsn');
    expect(mariadbBackupDetailsSchema.parse(manifest.details)).toEqual(recorded);
    // The same manifest written today parses to the same thing.
    const { lsn: _lsn, binlog: _binlog, gtid: _gtid, parent: _parent, ...rest } = oldIncremental;
    expect(
      backupManifestSchema.parse({
        ...rest,
        parent: { backupId: ids.parentId, base: '98765432109876543210' },
        details: recorded,
      }),
    ).toEqual(manifest);
  });

  it("carry an incremental's parent as an opaque base", () => {
    const params = createBackupParamsSchema.parse({
      backupId: ids.backupId,
      type: 'INCREMENTAL',
      parent: { backupId: ids.parentId, base: 'whatever-the-datastore-says' },
      location: `backups/${ids.projectId}/${ids.backupId}/`,
      key: 'v1.aa.bb.cc',
      store: 'v1.aa.bb.cc',
    });
    expect(params.parent).toEqual({ backupId: ids.parentId, base: 'whatever-the-datastore-says' });
  });

  it("read a report's details and incremental base, also from a guest that reported MariaDB's fields", () => {
    const report = {
      backupId: ids.backupId,
      status: 'COMPLETED',
      progress: 100,
      storedBytes: 10,
      rawBytes: 20,
    } as const;
    const result = {
      manifestSha256: 'a'.repeat(64),
      chunkCount: 1,
      serverVersion: '10.11.6-MariaDB',
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:01.000Z',
    };
    const current = backupReportSchema.parse({
      ...report,
      result: {
        ...result,
        details: recorded,
        incrementalBase: mariadbIncrementalBase(recorded),
      },
    });
    expect(current.result!.incrementalBase).toBe(recorded.lsn.to);
    const older = backupReportSchema.parse({ ...report, result: { ...result, ...recorded } });
    expect(older).toEqual(current);
    expect(older.result).not.toHaveProperty('lsn');
    // A logical backup: details without LSNs, nothing to continue from.
    const logical = backupReportSchema.parse({
      ...report,
      result: { ...result, ...recorded, lsn: null },
    });
    expect(logical.result!.incrementalBase).toBeNull();
    expect(mariadbBackupDetailsSchema.parse(logical.result!.details).lsn).toBeNull();
    expect(backupReportSchema.parse(report).result).toBeUndefined();
  });
});
