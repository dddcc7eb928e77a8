import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { useDatabaseBeforeMigration } from './before-migration';
import { quoteIdent } from './pg-adapter.mjs';

/**
 * The migration that made the backup row datastore-neutral moves each row's MariaDB columns
 * (LSNs, binlog file and position, GTID) into `details` and `lsnTo` into `incrementalBase`
 * before it drops them: a database with backups made before it keeps what they recorded.
 */
const MIGRATION = '20261205154725_backup_details';

const db = useDatabaseBeforeMigration(MIGRATION);

describe(`migration ${MIGRATION}`, () => {
  it("moves a backup row's MariaDB columns into details and incrementalBase", async () => {
    const { client } = db;
    const { projectId, versionId } = await db.insertProjectAndVersion();
    const insert = (
      type: string,
      status: string,
      columns: Record<string, string | number | null>,
      parentId: string | null = null,
    ) => {
      const id = randomUUID();
      const names = Object.keys(columns);
      return client
        .query(
          `INSERT INTO backups (id, "projectId", "instanceId", "instanceName", name, type, status,
             "parentId", "datastoreVersionId", "storeKind", location, "updatedAt"${names
               .map((column) => `, ${quoteIdent(column)}`)
               .join('')})
           VALUES ($1, $2, $3, 'db', $4, $5::"BackupType", $6::"BackupStatus", $7, $8, 'local', 'backups/x/', now()${names
             .map((_, index) => `, $${index + 9}`)
             .join('')})`,
          [
            id,
            projectId,
            randomUUID(),
            `${type}-${status}`,
            type,
            status,
            parentId,
            versionId,
            ...Object.values(columns),
          ],
        )
        .then(() => id);
    };
    const full = await insert('FULL', 'COMPLETED', {
      manifestSha256: 'a'.repeat(64),
      lsnFrom: '0',
      lsnTo: '98765432109876543210',
      lsnLast: '98765432109876543299',
      binlogFile: 'mysql-bin.000002',
      binlogPosition: 845,
      gtidPosition: '0-1-3',
    });
    const incremental = await insert(
      'INCREMENTAL',
      'COMPLETED',
      {
        manifestSha256: 'b'.repeat(64),
        lsnFrom: '98765432109876543210',
        lsnTo: '98765432109876549999',
        lsnLast: '98765432109876549999',
        binlogFile: null,
        binlogPosition: null,
        gtidPosition: null,
      },
      full,
    );
    const logical = await insert('LOGICAL', 'COMPLETED', {
      manifestSha256: 'c'.repeat(64),
      binlogFile: 'mysql-bin.000003',
      binlogPosition: 4,
      gtidPosition: '',
    });
    const unfinished = await insert('FULL', 'BUILDING', {});

    await db.deployRest();

    const { rows } = await client.query<{
      id: string;
      details: unknown;
      incrementalBase: string | null;
    }>(`SELECT id, details, "incrementalBase" FROM backups`);
    const byId = new Map(rows.map((row) => [row.id, row]));
    expect(byId.get(full)).toMatchObject({
      details: {
        lsn: { from: '0', to: '98765432109876543210', last: '98765432109876543299' },
        binlog: { file: 'mysql-bin.000002', position: 845 },
        gtid: '0-1-3',
      },
      incrementalBase: '98765432109876543210',
    });
    expect(byId.get(incremental)).toMatchObject({
      details: {
        lsn: {
          from: '98765432109876543210',
          to: '98765432109876549999',
          last: '98765432109876549999',
        },
        binlog: null,
        gtid: null,
      },
      incrementalBase: '98765432109876549999',
    });
    expect(byId.get(logical)).toMatchObject({
      details: { lsn: null, binlog: { file: 'mysql-bin.000003', position: 4 }, gtid: '' },
      incrementalBase: null,
    });
    expect(byId.get(unfinished)).toMatchObject({ details: null, incrementalBase: null });
    const { rows: columns } = await client.query<{ name: string }>(
      `SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'backups'`,
    );
    for (const gone of [
      'lsnFrom',
      'lsnTo',
      'lsnLast',
      'binlogFile',
      'binlogPosition',
      'gtidPosition',
    ])
      expect(columns.map((column) => column.name)).not.toContain(gone);
  });
});
