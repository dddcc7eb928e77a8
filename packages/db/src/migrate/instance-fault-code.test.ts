import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { useDatabaseBeforeMigration } from './before-migration';

/**
 * The migration that gave an instance's fault a code backfills it: a fault stored before, in
 * the words the guest gives a full volume ("The volume is full…"), gets VOLUME_FULL, so the
 * conductor (which now clears by code) still clears it once the volume has room; any other
 * fault, or none, gets no code.
 */
const MIGRATION = '20261205163654_instance_fault_code';

const db = useDatabaseBeforeMigration(MIGRATION);

describe(`migration ${MIGRATION}`, () => {
  it("codes the stored full volumes' faults VOLUME_FULL, and nothing else", async () => {
    const { client } = db;
    const { projectId, versionId } = await db.insertProjectAndVersion();
    const flavorId = randomUUID();
    await client.query(
      `INSERT INTO flavors (id, name, vcpus, "ramMb", "defaultVolumeGb") VALUES ($1, 'm1.tiny', 1, 512, 1)`,
      [flavorId],
    );
    const insert = async (name: string, faultMessage: string | null) => {
      const id = randomUUID();
      await client.query(
        `INSERT INTO instances (id, "projectId", name, "flavorId", "datastoreVersionId", "volumeSizeGb",
           "faultMessage", "updatedAt")
         VALUES ($1, $2, $3, $4, $5, 1, $6, now())`,
        [id, projectId, name, flavorId, versionId, faultMessage],
      );
      return id;
    };
    const full = await insert(
      'full',
      'The volume is full: 1.0 GiB of 1.0 GiB used, 12 MiB free; the database refuses writes (reads still work). Grow the volume (resize) or delete data.',
    );
    const other = await insert('other', 'The restart was interrupted; restart the instance again.');
    const mentions = await insert('mentions', 'Starting failed: the volume is full');
    const none = await insert('none', null);

    await db.deployRest();

    const { rows } = await client.query<{ id: string; faultCode: string | null }>(
      `SELECT id, "faultCode" FROM instances`,
    );
    const codes = new Map(rows.map((row) => [row.id, row.faultCode]));
    expect(codes.get(full)).toBe('VOLUME_FULL');
    expect(codes.get(other)).toBeNull();
    expect(codes.get(mentions)).toBeNull();
    expect(codes.get(none)).toBeNull();
  });
});
