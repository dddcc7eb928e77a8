import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

import {
  BACKUP_MANIFEST_NAME,
  backupKeyAad,
  backupLocation,
  backupManifestSchema,
  backupStoreAad,
  type BackupReport,
  type ConductorMessage,
  type ObjectStoreConfig,
} from '@coffer/contracts';
import { mariadbBackupDetailsSchema } from '@coffer/contracts/datastores/mariadb';
import { fillIncompressible } from '@coffer/testing/fill';
import { rssMib } from '@coffer/testing/processes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  connectAsRoot,
  connectTcp,
  GuestHarness,
  instanceFiles,
  isStatus,
  type TestInstance,
} from '../test/harness';

/**
 * Backups and restores through a real guest and mariadbd, as the taskmanager drives them:
 * `create_backup` with the key and the store sealed for the guest, progress and the end on
 * the conductor stream, the objects in a local store; then `prepare` with a restore chain on
 * a fresh instance. The worker's tests cover the same through the control plane.
 */

const harness = new GuestHarness(0.5);
const storeRoot = join(harness.dataDir, 'backups');
const store: ObjectStoreConfig = { kind: 'local', root: storeRoot };
const projectKey = randomBytes(32);
let source: TestInstance;

function sealAccess(instance: TestInstance, operationId: string, key = projectKey) {
  return {
    key: instance.client.sealSecret(key.toString('base64'), backupKeyAad(operationId)),
    store: instance.client.sealSecret(JSON.stringify(store), backupStoreAad(operationId)),
  };
}

interface MadeBackup {
  backupId: string;
  type: 'FULL' | 'INCREMENTAL' | 'LOGICAL';
  location: string;
  report: BackupReport;
  reports: BackupReport[];
}

async function makeBackup(
  type: MadeBackup['type'],
  parent?: MadeBackup,
  options: { backupId?: string; isFollowed?: boolean } = {},
): Promise<MadeBackup> {
  const backupId = options.backupId ?? randomUUID();
  const location = backupLocation(source.projectId, backupId);
  const reports: BackupReport[] = [];
  const result = await source.client.call(
    'create_backup',
    {
      backupId,
      type,
      parent: parent
        ? { backupId: parent.backupId, base: parent.report.result!.incrementalBase! }
        : null,
      location,
      chunkBytes: 256 * 1024,
      uploadConcurrency: 3,
      isFollowed: options.isFollowed ?? false,
      ...sealAccess(source, backupId),
    },
    { timeoutMs: 120_000 },
  );
  const end = await source.conductor.waitFor(
    (message) => {
      if (message.kind === 'backup' && message.payload.backupId === backupId)
        reports.push(message.payload);
      return (
        message.kind === 'backup' &&
        message.payload.backupId === backupId &&
        message.payload.status !== 'BUILDING'
      );
    },
    30_000,
    `the end of backup ${backupId}`,
  );
  const report = (end as Extract<ConductorMessage, { kind: 'backup' }>).payload;
  expect(report.status, report.message).toBe('COMPLETED');
  expect(report.result!.manifestSha256).toBe(result.manifestSha256);
  return { backupId, type, location, report, reports };
}

async function sql(instance: TestInstance, statement: string): Promise<unknown> {
  const connection = await connectAsRoot(
    instanceFiles(harness.provider, instance.instanceId).socket,
  );
  try {
    const [rows] = await connection.query(statement);
    return rows;
  } finally {
    await connection.end();
  }
}

/** The rows of app.t that the full and incremental backups hold (beforeAll writes them). */
const ROWS_UP_TO_INCREMENTAL = ['before-full-1', 'before-full-2', 'between-1', 'between-2'];

async function rowsOf(instance: TestInstance): Promise<string[]> {
  const rows = (await sql(instance, 'SELECT v FROM app.t ORDER BY id')) as Array<{ v: string }>;
  return rows.map((row) => row.v);
}

/** A fresh instance prepared from `chain` (the restore point last); resolves with how it ended. */
async function restoreInto(
  chain: MadeBackup[],
  key = projectKey,
  into?: TestInstance,
): Promise<{ instance: TestInstance; end: ConductorMessage; fault?: string }> {
  const instance = into ?? (await harness.createInstance());
  const restorePoint = chain.at(-1)!.backupId;
  await instance.client.cast('prepare', {
    memoryMb: 512,
    vcpus: 1,
    databases: [],
    users: [],
    restore: {
      backups: chain.map((backup) => ({
        backupId: backup.backupId,
        type: backup.type,
        location: backup.location,
        manifestSha256: backup.report.result!.manifestSha256,
      })),
      ...sealAccess(instance, restorePoint, key),
    },
  });
  let fault: string | undefined;
  const noteFault = (message: ConductorMessage) => {
    if (message.kind === 'fault') fault = message.payload.message;
  };
  const end = await instance.conductor.waitFor(
    (message) => {
      noteFault(message);
      return isStatus('RUNNING')(message) || isStatus('FAILED')(message);
    },
    120_000,
    'the restored instance to run or fail',
  );
  if (isStatus('FAILED')(end) && fault === undefined) {
    noteFault(
      await instance.conductor.waitFor((message) => message.kind === 'fault', 10_000, 'the fault'),
    );
  }
  return { instance, end, fault };
}

let full: MadeBackup;
let incremental: MadeBackup;
let logical: MadeBackup;
let appPassword: string;

beforeAll(async () => {
  mkdirSync(storeRoot, { recursive: true });
  source = await harness.createInstance();
  appPassword = await harness.prepareApp(source);
  await source.conductor.waitFor(isStatus('RUNNING'), 60_000, 'the source to run');
  await sql(
    source,
    'CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100), pad BLOB)',
  );
  // Some incompressible data, so the stream spans many chunks.
  await sql(
    source,
    "INSERT INTO app.t (v, pad) VALUES ('before-full-1', RANDOM_BYTES(1024)), ('before-full-2', RANDOM_BYTES(1024))",
  );
  await fillIncompressible((statement) => sql(source, statement), {
    table: 'app.filler',
    rows: 2000,
    rowBytes: 1024,
    sequenceSchema: 'app',
  });
  // The filler flushed and checkpointed first: otherwise pages changed before the full but
  // after its checkpoint are copied again by the incremental, which is then no smaller.
  await sql(source, 'SET GLOBAL innodb_max_dirty_pages_pct = 0');
  for (const deadline = Date.now() + 60_000; ; await new Promise((tick) => setTimeout(tick, 50))) {
    const [age] = (await sql(
      source,
      "SELECT VARIABLE_VALUE AS bytes FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_CHECKPOINT_AGE'",
    )) as Array<{ bytes: string }>;
    if (Number(age!.bytes) < 64 * 1024) break;
    if (Date.now() > deadline) throw new Error('the source did not checkpoint its filler');
  }
  await sql(source, 'SET GLOBAL innodb_max_dirty_pages_pct = 90');
  full = await makeBackup('FULL');
  await sql(source, "INSERT INTO app.t (v) VALUES ('between-1'), ('between-2')");
  incremental = await makeBackup('INCREMENTAL', full);
  await sql(source, "INSERT INTO app.t (v) VALUES ('after-incremental')");
  logical = await makeBackup('LOGICAL');
  await sql(source, "INSERT INTO app.t (v) VALUES ('after-logical')");
}, 300_000);

afterAll(() => harness.close());

describe('backups', () => {
  it('stream in sealed chunks with the manifest last, and report progress, then the end', () => {
    const manifest = backupManifestSchema.parse(
      JSON.parse(readFileSync(join(storeRoot, full.location, BACKUP_MANIFEST_NAME), 'utf8')),
    );
    expect(manifest).toMatchObject({
      backupId: full.backupId,
      type: 'FULL',
      strategy: 'mariadb-backup',
      parent: null,
      compression: 'zstd',
    });
    expect(manifest.datastore.version).toBe('10.11');
    expect(manifest.chunks.length).toBeGreaterThan(3);
    expect(manifest.chunks.every((chunk) => chunk.plainSize <= 256 * 1024)).toBe(true);
    expect(new Set(manifest.chunks.map((chunk) => chunk.iv)).size).toBe(manifest.chunks.length);
    const files = readdirSync(join(storeRoot, full.location)).sort();
    expect(files).toEqual(
      [...manifest.chunks.map((chunk) => chunk.name), BACKUP_MANIFEST_NAME].sort(),
    );
    // Nothing readable in a chunk: no SQL, no page of the table in clear.
    const chunk = readFileSync(join(storeRoot, full.location, manifest.chunks[0]!.name));
    expect(chunk.includes(Buffer.from('before-full-1'))).toBe(false);
    // MariaDB's own record of the backup, in the manifest's details.
    const details = mariadbBackupDetailsSchema.parse(manifest.details);
    expect(details.lsn!.from).toBe('0');
    expect(details.binlog?.file).toMatch(/^mysql-bin\./);
    // The report carries the same details, and the LSN an incremental continues from.
    expect(full.report.result!.details).toEqual(manifest.details);
    expect(full.report.result!.incrementalBase).toBe(details.lsn!.to);
    expect(full.reports.filter((report) => report.status === 'BUILDING').length).toBeGreaterThan(0);
    expect(full.report.result!.chunkCount).toBe(manifest.chunks.length);
    expect(full.report.storedBytes).toBe(manifest.storedBytes);

    const incrementalManifest = backupManifestSchema.parse(
      JSON.parse(readFileSync(join(storeRoot, incremental.location, BACKUP_MANIFEST_NAME), 'utf8')),
    );
    expect(incrementalManifest.parent).toEqual({
      backupId: full.backupId,
      base: details.lsn!.to,
    });
    expect(mariadbBackupDetailsSchema.parse(incrementalManifest.details).lsn!.from).toBe(
      details.lsn!.to,
    );
    expect(incrementalManifest.storedBytes).toBeLessThan(manifest.storedBytes);
  });

  it('keep the guest within its memory bound', () => {
    const pid = Number(
      readFileSync(
        join(harness.provider.instanceDir(source.instanceId), 'run', 'guest.pid'),
        'utf8',
      ),
    );
    const peak =
      Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
    console.info(
      `guest peak RSS after three backups: ${peak.toFixed(1)} MB (now ${rssMib(pid)!.toFixed(1)} MB)`,
    );
    expect(peak).toBeLessThan(150);
  });
});

describe('restores', () => {
  it('of an incremental chain give exactly the rows up to the incremental', async () => {
    const { instance, end, fault } = await restoreInto([full, incremental]);
    expect(isStatus('RUNNING')(end), fault).toBe(true);
    expect(await rowsOf(instance)).toEqual(ROWS_UP_TO_INCREMENTAL);
    // The tenant's user came back with the data, and logs in over TCP.
    const connection = await connectTcp(instance.server.port, 'app_user', appPassword, 'app');
    expect(
      await connection.query('SELECT COUNT(*) AS n FROM filler').then(([rows]) => rows),
    ).toEqual([{ n: 2000 }]);
    await connection.end();
    await harness.provider.deleteServer(instance.instanceId);
  });

  it('of a logical backup give exactly the rows up to it, and its users', async () => {
    const { instance, end, fault } = await restoreInto([logical]);
    expect(isStatus('RUNNING')(end), fault).toBe(true);
    expect(await rowsOf(instance)).toEqual([...ROWS_UP_TO_INCREMENTAL, 'after-incremental']);
    const connection = await connectTcp(instance.server.port, 'app_user', appPassword, 'app');
    await connection.end();
    await harness.provider.deleteServer(instance.instanceId);
  });

  it('of backups whose manifests were written before `details` existed still give their rows', async () => {
    // The same chain as stored by guests of earlier releases: each manifest with MariaDB's
    // LSNs, binlog position and GTID at its top level, an incremental's parent with its
    // `toLsn` (not `base`), recorded with its own SHA-256.
    const legacyOf = (backup: MadeBackup): MadeBackup => {
      const location = `legacy/${backup.location}`;
      cpSync(join(storeRoot, backup.location), join(storeRoot, location), { recursive: true });
      const manifestPath = join(storeRoot, location, BACKUP_MANIFEST_NAME);
      const { details, parent, ...manifest } = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
        details: Record<string, unknown>;
        parent: { backupId: string; base: string } | null;
      };
      const legacyParent = parent && { backupId: parent.backupId, toLsn: parent.base };
      const bytes = Buffer.from(
        `${JSON.stringify({ ...manifest, parent: legacyParent, ...details })}\n`,
      );
      writeFileSync(manifestPath, bytes);
      const manifestSha256 = createHash('sha256').update(bytes).digest('hex');
      const result = { ...backup.report.result!, manifestSha256 };
      return { ...backup, location, report: { ...backup.report, result } };
    };
    const chain = [legacyOf(full), legacyOf(incremental)];
    expect(readFileSync(join(storeRoot, chain[1]!.location, BACKUP_MANIFEST_NAME), 'utf8')).toMatch(
      /"parent":\{"backupId":"[^"]+","toLsn":"\d+"\}.*"lsn":\{"from":"\d+"/,
    );
    const { instance, end, fault } = await restoreInto(chain);
    expect(isStatus('RUNNING')(end), fault).toBe(true);
    expect(await rowsOf(instance)).toEqual(ROWS_UP_TO_INCREMENTAL);
    await harness.provider.deleteServer(instance.instanceId);
  });

  it('follow a full backup while it is written: started before it, the restore ends with its rows, and remembers its manifest', async () => {
    const backupId = randomUUID();
    const location = backupLocation(source.projectId, backupId);
    const instance = await harness.createInstance();
    // The restore is asked for first: nothing of the backup exists yet.
    await instance.client.cast('prepare', {
      memoryMb: 512,
      vcpus: 1,
      databases: [],
      users: [],
      isReadOnly: true,
      restore: {
        backups: [{ backupId, type: 'FULL', location, manifestSha256: null }],
        ...sealAccess(instance, backupId),
      },
    });
    await sql(source, "INSERT INTO app.t (v) VALUES ('before-snapshot')");
    const snapshot = await makeBackup('FULL', undefined, { backupId, isFollowed: true });
    const end = await instance.conductor.waitFor(
      (message) => isStatus('RUNNING')(message) || isStatus('FAILED')(message),
      120_000,
      'the following restore to run or fail',
    );
    expect(isStatus('RUNNING')(end)).toBe(true);
    expect((await rowsOf(instance)).at(-1)).toBe('before-snapshot');
    // Each chunk's entry was stored beside it, and is the manifest's.
    const manifest = backupManifestSchema.parse(
      JSON.parse(readFileSync(join(storeRoot, location, BACKUP_MANIFEST_NAME), 'utf8')),
    );
    expect(manifest.chunks.length).toBeGreaterThan(3);
    for (const chunk of manifest.chunks) {
      expect(
        JSON.parse(readFileSync(join(storeRoot, location, `${chunk.name}.json`), 'utf8')),
      ).toEqual(chunk);
    }
    // The volume remembers the manifest it was restored by; an attach naming another is refused.
    const volume = join(harness.provider.instanceDir(instance.instanceId), 'data');
    expect(JSON.parse(readFileSync(join(volume, 'restored-from.json'), 'utf8'))).toEqual({
      backups: [{ backupId, manifestSha256: snapshot.report.result!.manifestSha256 }],
    });
    await expect(
      instance.client.call(
        'attach_replica',
        {
          source: { host: '127.0.0.1', port: source.server.port },
          user: `coffer_repl_${instance.instanceId.replace(/-/g, '')}`,
          password: instance.client.sealSecret('not used', 'replication password'),
          start: {
            kind: 'snapshot',
            strategy: 'GTID',
            manifestSha256: 'f'.repeat(64),
            gtid: mariadbBackupDetailsSchema.parse(snapshot.report.result!.details).gtid ?? '',
            binlog: null,
          },
        },
        { timeoutMs: 30_000 },
      ),
    ).rejects.toThrow(/not the one recorded/);
    await harness.provider.deleteServer(instance.instanceId);
  });

  it('of a chain whose last chunk is damaged fail naming it, and never touch the datadir', async () => {
    // The last chunk of the last backup: every other chunk of the chain passes and is unpacked
    // into the scratch dir first. The datadir (and the dir it is installed in) must never
    // appear on the volume: watched for the whole restore, not only looked at afterwards.
    const manifest = backupManifestSchema.parse(
      JSON.parse(readFileSync(join(storeRoot, incremental.location, BACKUP_MANIFEST_NAME), 'utf8')),
    );
    const last = manifest.chunks.at(-1)!;
    const path = join(storeRoot, incremental.location, last.name);
    const original = readFileSync(path);
    const damaged = Buffer.from(original);
    damaged[damaged.length - 20] = damaged[damaged.length - 20]! ^ 0x01;
    writeFileSync(path, damaged);
    const instance = await harness.createInstance();
    const volume = join(harness.provider.instanceDir(instance.instanceId), 'data');
    mkdirSync(volume, { recursive: true });
    const appeared = new Set<string>();
    const watcher = watch(volume, (_event, name) => {
      if (name) appeared.add(name.toString());
    });
    try {
      const { end, fault } = await restoreInto([full, incremental], projectKey, instance);
      expect(isStatus('FAILED')(end)).toBe(true);
      expect(fault).toContain(
        `Backup ${incremental.backupId}: chunk ${manifest.chunks.length - 1} (${last.name}) is damaged`,
      );
      // The chain was being unpacked (the scratch dir came and went), the datadir never was.
      expect(appeared).toContain('restore-work');
      expect([...appeared].filter((name) => name === 'data' || name.startsWith('data.'))).toEqual(
        [],
      );
      expect(readdirSync(volume).filter((name) => name.startsWith('data'))).toEqual([]);
    } finally {
      watcher.close();
      writeFileSync(path, original);
      await harness.provider.deleteServer(instance.instanceId);
    }
  });

  it('refuse a wrong key, naming the backup and the chunk, and leave no datadir', async () => {
    const { instance, end, fault } = await restoreInto([full], randomBytes(32));
    expect(isStatus('FAILED')(end)).toBe(true);
    expect(fault).toContain(
      `Backup ${full.backupId}: chunk 0 (chunk-000000) failed authentication`,
    );
    const volume = join(harness.provider.instanceDir(instance.instanceId), 'data');
    expect(existsSync(join(volume, 'data'))).toBe(false);
    expect(existsSync(join(volume, 'restore-work'))).toBe(false);
    await harness.provider.deleteServer(instance.instanceId);
  });

  it('refuse a chunk with one byte flipped, naming the backup and the chunk', async () => {
    const path = join(storeRoot, incremental.location, 'chunk-000001');
    const bytes = readFileSync(path);
    bytes[100] = bytes[100]! ^ 0x01;
    writeFileSync(path, bytes);
    const { instance, end, fault } = await restoreInto([full, incremental]);
    expect(isStatus('FAILED')(end)).toBe(true);
    expect(fault).toContain(`Backup ${incremental.backupId}: chunk 1 (chunk-000001) is damaged`);
    expect(
      existsSync(join(harness.provider.instanceDir(instance.instanceId), 'data', 'data')),
    ).toBe(false);
    await harness.provider.deleteServer(instance.instanceId);
  });
});
