import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { loadWorkerEnv, WorkerEnvError } from '../env';
import { buildSettings } from '../settings';

/** The object store for backups is checked at boot, with every wrong setting named. */

const base = {
  COFFER_MASTER_KEY: randomBytes(32).toString('base64'),
  COFFER_DATA_DIR: '/var/lib/coffer',
};

describe('backup settings', () => {
  it('default to a local directory under the data dir', () => {
    const settings = buildSettings(loadWorkerEnv(base));
    expect(settings.backupStore).toEqual({ kind: 'local', root: '/var/lib/coffer/backups' });
    expect(settings.backupChunkBytes).toBe(8 * 1024 * 1024);
    expect(settings.backupUploadConcurrency).toBe(4);
    expect(settings.backupZstdLevel).toBe(2);
  });

  it('take a directory of their own, which must be absolute', () => {
    expect(
      buildSettings(loadWorkerEnv({ ...base, COFFER_BACKUP_DIR: '/srv/backups' })).backupStore,
    ).toEqual({ kind: 'local', root: '/srv/backups' });
    expect(() => loadWorkerEnv({ ...base, COFFER_BACKUP_DIR: 'backups' })).toThrow(
      /COFFER_BACKUP_DIR: must be an absolute path/,
    );
  });

  it('name every missing Swift setting', () => {
    let error: unknown;
    try {
      loadWorkerEnv({ ...base, COFFER_BACKUP_STORE: 'swift' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(WorkerEnvError);
    for (const name of ['COFFER_SWIFT_AUTH_URL', 'COFFER_SWIFT_USER', 'COFFER_SWIFT_KEY'])
      expect(String(error)).toContain(name);
    expect(() => loadWorkerEnv({ ...base, COFFER_BACKUP_STORE: 's3' })).toThrow(
      /COFFER_BACKUP_STORE/,
    );
    expect(() => loadWorkerEnv({ ...base, COFFER_BACKUP_CHUNK_MB: 0 })).toThrow(
      /COFFER_BACKUP_CHUNK_MB/,
    );
  });

  it('build a Swift store from its settings', () => {
    const settings = buildSettings(
      loadWorkerEnv({
        ...base,
        COFFER_BACKUP_STORE: 'swift',
        COFFER_SWIFT_AUTH_URL: 'http://swift.example:8080/auth/v1.0',
        COFFER_SWIFT_USER: 'coffer:backup',
        COFFER_SWIFT_KEY: 'secret',
      }),
    );
    expect(settings.backupStore).toEqual({
      kind: 'swift',
      authUrl: 'http://swift.example:8080/auth/v1.0',
      user: 'coffer:backup',
      key: 'secret',
      container: 'coffer-backups',
    });
    // Each backup also as a Static Large Object unless turned off.
    expect(settings.backupSwiftSlo).toBe(true);
    expect(buildSettings(loadWorkerEnv({ ...base, COFFER_SWIFT_SLO: 'off' })).backupSwiftSlo).toBe(
      false,
    );
    expect(() => loadWorkerEnv({ ...base, COFFER_SWIFT_SLO: 'yes' })).toThrow(/COFFER_SWIFT_SLO/);
  });

  it('build a Swift store with Keystone auth from the COFFER_OPENSTACK_* credentials', () => {
    const keystone = {
      ...base,
      COFFER_BACKUP_STORE: 'swift',
      COFFER_SWIFT_AUTH: 'keystone',
      COFFER_OPENSTACK_AUTH_URL: 'http://keystone.example:5000/v3',
    };
    expect(
      buildSettings(
        loadWorkerEnv({
          ...keystone,
          COFFER_OPENSTACK_USERNAME: 'coffer',
          COFFER_OPENSTACK_PASSWORD: 'secret',
          COFFER_OPENSTACK_PROJECT_NAME: 'backups',
          COFFER_OPENSTACK_REGION: 'RegionTwo',
        }),
      ).backupStore,
    ).toEqual({
      kind: 'swift',
      auth: 'keystone',
      authUrl: 'http://keystone.example:5000/v3',
      credentials: {
        type: 'password',
        username: 'coffer',
        password: 'secret',
        projectName: 'backups',
      },
      region: 'RegionTwo',
      interface: 'public',
      container: 'coffer-backups',
    });
    // An application credential wins over a password, as with the compute provider.
    expect(
      buildSettings(
        loadWorkerEnv({
          ...keystone,
          COFFER_OPENSTACK_APPLICATION_CREDENTIAL_ID: 'ac1',
          COFFER_OPENSTACK_APPLICATION_CREDENTIAL_SECRET: 'acs',
          COFFER_OPENSTACK_USERNAME: 'coffer',
          COFFER_OPENSTACK_INTERFACE: 'internal',
        }),
      ).backupStore,
    ).toMatchObject({
      credentials: { type: 'application_credential', id: 'ac1', secret: 'acs' },
      interface: 'internal',
    });
    let error: unknown;
    try {
      loadWorkerEnv({ ...base, COFFER_BACKUP_STORE: 'swift', COFFER_SWIFT_AUTH: 'keystone' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(WorkerEnvError);
    expect(String(error)).toContain('COFFER_OPENSTACK_AUTH_URL');
    expect(String(error)).toContain('COFFER_OPENSTACK_APPLICATION_CREDENTIAL_ID');
    expect(String(error)).not.toContain('COFFER_SWIFT_KEY');
  });
});
