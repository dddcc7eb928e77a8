import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  BACKUP_MANIFEST_NAME,
  backupManifestSchema,
  createBackupParamsSchema,
  type BackupManifest,
} from '@coffer/contracts';
import { mariadbBackupDetailsSchema } from '@coffer/contracts/datastores/mariadb';
import { createObjectStore } from '@coffer/objectstore';
import { afterEach, describe, expect, it } from 'vitest';

import { TenantFacingError } from '../errors';
import { sealChunk } from './chunk-crypto';
import { buildManifest, manifestBytes, parseManifest, sha256Hex } from './manifest';
import { readManifest } from './read-manifest';

const datastore = { label: 'MariaDB', version: '10.11', details: mariadbBackupDetailsSchema };
// Only its shape matters here: nothing is opened.
const sealedPlaceholder = 'v1.aa.bb.cc';

function manifestOf(type: 'FULL' | 'LOGICAL' = 'FULL'): BackupManifest {
  const backupId = randomUUID();
  const params = createBackupParamsSchema.parse({
    backupId,
    type,
    location: `backups/p/${backupId}/`,
    key: sealedPlaceholder,
    store: sealedPlaceholder,
  });
  const sealed = sealChunk(randomBytes(32), backupId, 0, randomBytes(100));
  const recorded = {
    lsn: type === 'LOGICAL' ? null : { from: '0', to: '123456', last: '123456' },
    binlog: { file: 'mysql-bin.000001', position: 845 },
    gtid: '0-7-3',
  };
  return buildManifest({
    params,
    ids: { projectId: randomUUID(), instanceId: randomUUID() },
    strategy: type === 'LOGICAL' ? 'mariadb-dump' : 'mariadb-backup',
    datastore: { manager: 'mariadb', version: '10.11', serverVersion: '10.11.6-MariaDB' },
    chunks: [
      {
        index: 0,
        name: 'chunk-000000',
        size: sealed.stored.length,
        plainSize: sealed.plainSize,
        sha256: sealed.sha256,
        iv: sealed.iv,
        tag: sealed.tag,
      },
    ],
    storedBytes: sealed.stored.length,
    outcome: { rawBytes: 1000, details: recorded, incrementalBase: recorded.lsn?.to ?? null },
    startedAt: new Date('2026-01-01T00:00:00Z'),
    finishedAt: new Date('2026-01-01T00:00:05Z'),
  });
}

function bytesOf(json: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(json)}\n`);
}

/** The message parseManifest refuses with. */
function refusal(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(TenantFacingError);
    return (error as Error).message;
  }
  throw new Error('the manifest was accepted');
}

describe('manifest', () => {
  it('is built as the contract says, stored as one line of JSON, and parsed back as it was', () => {
    const manifest = manifestOf();
    expect(backupManifestSchema.parse(manifest)).toEqual(manifest);
    expect(manifest).toMatchObject({
      format: 'coffer-backup/1',
      compression: 'zstd',
      compressionLevel: 2,
      encryption: { algorithm: 'aes-256-gcm', key: 'project' },
      chunkSize: 8 * 1024 * 1024,
      parent: null,
      startedAt: '2026-01-01T00:00:00.000Z',
    });
    const bytes = manifestBytes(manifest);
    expect(bytes.toString('utf8')).toMatch(/^\{.*\}\n$/);
    expect(bytes.toString('utf8').split('\n')).toHaveLength(2);
    expect(parseManifest(bytes, manifest, datastore)).toEqual(manifest);
  });

  it('reads a manifest written before `details` existed (MariaDB fields at the top level)', () => {
    const manifest = manifestOf();
    const { details, ...rest } = manifest;
    const legacy = { ...rest, ...details };
    expect(legacy).not.toHaveProperty('details');
    expect(legacy).toHaveProperty('lsn.to', '123456');
    expect(parseManifest(bytesOf(legacy), manifest, datastore)).toEqual(manifest);
    // And a legacy manifest with a malformed LSN is still refused.
    const broken = { ...legacy, lsn: { from: '0', to: '-1', last: '1' } };
    expect(refusal(() => parseManifest(bytesOf(broken), manifest, datastore))).toBe(
      `Backup ${manifest.backupId}: its manifest does not describe this backup.`,
    );
  });

  it('refuses a truncated manifest', () => {
    const manifest = manifestOf();
    const bytes = manifestBytes(manifest);
    for (const length of [0, 1, bytes.length >> 1, bytes.length - 3]) {
      expect(refusal(() => parseManifest(bytes.subarray(0, length), manifest, datastore))).toBe(
        `Backup ${manifest.backupId}: its manifest does not describe this backup.`,
      );
    }
  });

  it('refuses another format version, and missing or malformed fields', () => {
    const manifest = manifestOf();
    const broken: unknown[] = [
      { ...manifest, format: 'coffer-backup/2' },
      { ...manifest, chunks: undefined },
      { ...manifest, datastore: { ...manifest.datastore, version: undefined } },
      { ...manifest, chunks: [{ ...manifest.chunks[0], sha256: 'not-a-hash' }] },
      { ...manifest, strategy: '' },
      { ...manifest, details: undefined },
      // The manager's own record is checked with its schema (MariaDB's LSNs are decimal).
      { ...manifest, details: { ...manifest.details, lsn: { from: '0', to: '-1', last: '1' } } },
      { ...manifest, encryption: { algorithm: 'aes-128-cbc', key: 'project' } },
      { ...manifest, chunkSize: 0 },
      [manifest],
      null,
    ];
    for (const json of broken) {
      expect(refusal(() => parseManifest(bytesOf(json), manifest, datastore))).toBe(
        `Backup ${manifest.backupId}: its manifest does not describe this backup.`,
      );
    }
  });

  it('refuses the manifest of another backup, or of another type', () => {
    const manifest = manifestOf();
    const bytes = manifestBytes(manifest);
    const other = { backupId: randomUUID(), type: 'FULL' as const };
    expect(refusal(() => parseManifest(bytes, other, datastore))).toBe(
      `Backup ${other.backupId}: its manifest does not describe this backup.`,
    );
    expect(
      refusal(() => parseManifest(bytes, { ...manifest, type: 'INCREMENTAL' }, datastore)),
    ).toBe(`Backup ${manifest.backupId}: its manifest does not describe this backup.`);
  });

  it('refuses a backup of another datastore version, naming both', () => {
    const manifest = manifestOf('LOGICAL');
    expect(
      refusal(() =>
        parseManifest(manifestBytes(manifest), manifest, { ...datastore, version: '11.4' }),
      ),
    ).toBe(`Backup ${manifest.backupId} was made with MariaDB 10.11; this instance runs 11.4.`);
  });

  describe('read from the store', () => {
    const roots: string[] = [];
    afterEach(() => {
      for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
    });

    it('must have the SHA-256 the control plane recorded, and be there', async () => {
      const root = mkdtempSync(join(tmpdir(), 'coffer-manifest-'));
      roots.push(root);
      const store = createObjectStore({ kind: 'local', root });
      const manifest = manifestOf();
      const location = `backups/p/${manifest.backupId}/`;
      const bytes = manifestBytes(manifest);
      const backup = {
        backupId: manifest.backupId,
        type: manifest.type,
        location,
        manifestSha256: sha256Hex(bytes),
      };
      await expect(readManifest(store, backup, datastore)).rejects.toThrow(
        `Backup ${manifest.backupId}: its manifest is missing from the object store.`,
      );
      await store.put(`${location}${BACKUP_MANIFEST_NAME}`, bytes);
      expect(await readManifest(store, backup, datastore)).toEqual(manifest);
      await expect(
        readManifest(store, { ...backup, manifestSha256: sha256Hex(Buffer.from('x')) }, datastore),
      ).rejects.toThrow(
        `Backup ${manifest.backupId}: its manifest is damaged (its SHA-256 is not the one recorded when the backup completed).`,
      );
      await store.close();
    });
  });
});
