import { describe, expect, it } from 'vitest';

import { backupManifestSchema } from '../backup';
import {
  CHARACTER_SETS,
  characterSetOfCollation,
  characterSetsOf,
  collationsOf,
  DATASTORE_CHARACTER_SETS,
} from '../character-sets';
import { DATASTORE_MANAGERS } from '../datastore';
import { manifestWithoutDetails, MARIADB_RECORDED } from '../../test/manifests';
import {
  DATASTORE_DEFINITIONS,
  datastoreDefinition,
  datastoreDisplayName,
  findDatastoreDefinition,
} from '../datastore-definitions';
import {
  MARIADB_BACKUP_TOOLS,
  mariadbBackupDetailsSchema,
  mariadbCharacterSets,
  mariadbDatastore,
} from './mariadb';

describe('the mariadb datastore module', () => {
  it('is found by its manager name, with its display name', () => {
    expect(Object.keys(DATASTORE_DEFINITIONS).sort()).toEqual([...DATASTORE_MANAGERS].sort());
    expect(datastoreDefinition('mariadb')).toBe(mariadbDatastore);
    expect(findDatastoreDefinition('mariadb')).toBe(mariadbDatastore);
    expect(findDatastoreDefinition('postgresql')).toBeNull();
    expect(datastoreDisplayName('mariadb')).toBe('MariaDB');
    expect(datastoreDisplayName('postgresql')).toBe('postgresql');
  });

  it("holds users' host patterns inside the allowed sources; %, localhost and loopback always are", () => {
    const outside = datastoreDefinition('mariadb').userHostOutsideSources;
    const tenOnly = { isPublic: false, cidrs: ['10.0.0.0/8'] };
    for (const host of [
      '%',
      'localhost',
      '127.0.0.1',
      '10.1.2.3',
      '10.0.%',
      '10.2.0.0/255.255.0.0',
    ]) {
      expect(outside(host, tenOnly)).toBeNull();
    }
    for (const host of ['192.168.1.5', '192.168.%', '11.0.0.1', '1%']) {
      expect(outside(host, tenOnly)).toMatch(/outside the instance's allowed sources/);
    }
    expect(outside('10.0.0.1', { isPublic: false, cidrs: [] })).toMatch(/outside/);
    expect(outside('8.8.8.8', { isPublic: true, cidrs: [] })).toBeNull();
    expect(outside('8.8.8.8', { isPublic: true, cidrs: ['8.8.8.0/24'] })).toBeNull();
  });

  it('owns the character sets that the datastore enum finds', () => {
    expect(Object.keys(DATASTORE_CHARACTER_SETS).sort()).toEqual([...DATASTORE_MANAGERS].sort());
    expect(characterSetsOf('mariadb')).toBe(mariadbCharacterSets);
    expect(mariadbCharacterSets.names).toHaveLength(40);
    expect(mariadbCharacterSets.defaultCollationOf('utf8mb4')).toBe('utf8mb4_general_ci');
    expect(mariadbCharacterSets.collationsOf('binary')).toEqual(['binary']);
    expect(mariadbCharacterSets.characterSetOfCollation('latin1_bin')).toBe('latin1');
    expect(mariadbCharacterSets.isSupportedCollation('utf8mb4_nonsense_ci')).toBe(false);
    // Where no datastore is named: what some datastore supports (MariaDB's alone today).
    expect(CHARACTER_SETS).toEqual(mariadbCharacterSets.names);
    expect(collationsOf('utf8mb4')).toEqual(mariadbCharacterSets.collationsOf('utf8mb4'));
    expect(characterSetOfCollation('utf8mb4_unicode_520_ci')).toBe('utf8mb4');
  });

  it("names its backup tools, and its backups' details parse from old and new manifests", () => {
    expect(MARIADB_BACKUP_TOOLS).toEqual({
      FULL: 'mariadb-backup',
      INCREMENTAL: 'mariadb-backup',
      LOGICAL: 'mariadb-dump',
    });
    const recorded = MARIADB_RECORDED;
    const manifest = manifestWithoutDetails({ strategy: MARIADB_BACKUP_TOOLS.FULL });
    const current = backupManifestSchema.parse({ ...manifest, details: recorded });
    const legacy = backupManifestSchema.parse({ ...manifest, ...recorded });
    expect(legacy).toEqual(current);
    expect(legacy).not.toHaveProperty('lsn');
    expect(mariadbBackupDetailsSchema.parse(legacy.details)).toEqual(recorded);
    // A legacy logical backup: no LSNs.
    const logical = backupManifestSchema.parse({
      ...manifest,
      type: 'LOGICAL',
      strategy: MARIADB_BACKUP_TOOLS.LOGICAL,
      ...recorded,
      lsn: null,
    });
    expect(mariadbBackupDetailsSchema.parse(logical.details).lsn).toBeNull();
  });
});
