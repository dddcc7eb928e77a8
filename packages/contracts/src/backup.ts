import { z } from 'zod';

import { datastoreManagerSchema } from './datastore';
import { replicaStreamSchema, sourceStreamSchema } from './replica-stream';
import { sealedSecretSchema } from './sealed';

/**
 * Backups (Trove's backup strategies, DESIGN.md "Backups"): what crosses a boundary about
 * them. The control plane keeps the rows; the guest streams dump → zstd → fixed-size chunks →
 * AES-256-GCM per chunk → SHA-256 per chunk → object store, and writes the manifest last; the
 * conductor applies the guest's progress; a restore reads the manifest, verifies every chunk,
 * and only then writes a byte into the new datadir.
 */

export const BACKUP_TYPES = ['FULL', 'INCREMENTAL', 'LOGICAL'] as const;
export const backupTypeSchema = z.enum(BACKUP_TYPES);
export type BackupType = z.infer<typeof backupTypeSchema>;

/** Kept in step with the `BackupStatus` enum of packages/db's schema. */
export const BACKUP_STATUSES = ['NEW', 'BUILDING', 'COMPLETED', 'FAILED', 'DELETING'] as const;
export const backupStatusSchema = z.enum(BACKUP_STATUSES);
export type BackupStatus = z.infer<typeof backupStatusSchema>;

/** True for types a physical incremental can be based on (an incremental's parent). */
export function isPhysicalBackupType(type: BackupType): boolean {
  return type === 'FULL' || type === 'INCREMENTAL';
}

// ---------------------------------------------------------------------------------------
// Object stores
// ---------------------------------------------------------------------------------------

/**
 * Where backups are stored. `local`: a directory (the embedded default, under the data dir).
 * `swift`: an OpenStack Swift container, authenticated either with tempauth (v1.0: user and
 * key for a token and a storage URL) or with Keystone v3 (`auth: 'keystone'`: a password or
 * an application credential for a project-scoped token; the storage URL is the catalog's
 * `object-store` endpoint). Both put the same objects under the same names. Sent to the guest
 * sealed with its sealing key for each operation (it holds credentials); the guest never
 * stores it.
 */
export const localObjectStoreConfigSchema = z.object({
  kind: z.literal('local'),
  /** An absolute directory; objects are files below it. */
  root: z.string().min(1).regex(/^\//, 'must be an absolute path'),
});

const swiftContainerSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^/]+$/, 'must not contain /');

export const swiftObjectStoreConfigSchema = z.object({
  kind: z.literal('swift'),
  /** Absent (older configs) means tempauth. */
  auth: z.literal('tempauth').optional(),
  /** The tempauth endpoint, e.g. http://127.0.0.1:8080/auth/v1.0. */
  authUrl: z.url(),
  /** `account:user`, e.g. `test:tester`. */
  user: z.string().min(1),
  key: z.string().min(1),
  container: swiftContainerSchema,
});

const keystoneName = z.string().min(1);

/** Keystone v3 credentials for the backup store: a password (project-scoped) or an application credential. */
export const keystoneCredentialsSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('password'),
    username: keystoneName,
    password: keystoneName,
    userDomainName: keystoneName.optional(),
    projectName: keystoneName,
    projectDomainName: keystoneName.optional(),
  }),
  z.object({
    type: z.literal('application_credential'),
    id: keystoneName,
    secret: keystoneName,
  }),
]);
export type KeystoneStoreCredentials = z.infer<typeof keystoneCredentialsSchema>;

export const keystoneSwiftObjectStoreConfigSchema = z.object({
  kind: z.literal('swift'),
  auth: z.literal('keystone'),
  /** Keystone's v3 URL, e.g. http://127.0.0.1:5000/v3. */
  authUrl: z.url(),
  credentials: keystoneCredentialsSchema,
  /** The catalog's region (needed when object-store has endpoints in several). */
  region: keystoneName.optional(),
  /** Which of the catalog's endpoints (default public). */
  interface: z.enum(['public', 'internal', 'admin']).optional(),
  container: swiftContainerSchema,
});

export const objectStoreConfigSchema = z.union([
  localObjectStoreConfigSchema,
  keystoneSwiftObjectStoreConfigSchema,
  swiftObjectStoreConfigSchema,
]);
export type ObjectStoreConfig = z.infer<typeof objectStoreConfigSchema>;
export type ObjectStoreKind = ObjectStoreConfig['kind'];

/** The prefix of every object of one backup: `backups/<projectId>/<backupId>/`. */
export function backupLocation(projectId: string, backupId: string): string {
  return `backups/${projectId}/${backupId}/`;
}
export const BACKUP_MANIFEST_NAME = 'manifest.json';
export function backupChunkName(index: number): string {
  return `chunk-${String(index).padStart(6, '0')}`;
}
/**
 * A chunk's entry of the manifest (its size, SHA-256, IV and tag; nothing secret), stored
 * beside it as soon as it is stored, by backups that a restore follows while they are being
 * written (a replica's snapshot). The manifest, written last, stays the authority.
 */
export function backupChunkInfoName(index: number): string {
  return `${backupChunkName(index)}.json`;
}

/** The associated data a backup chunk is sealed with: it binds the chunk to its backup and place. */
export function backupChunkAad(backupId: string, index: number): string {
  return `coffer-backup:${backupId}:${index}`;
}

/** Associated data of what the control plane seals for the guest, per operation. */
export function backupKeyAad(operationId: string): string {
  return `backup-key:${operationId}`;
}
export function backupStoreAad(operationId: string): string {
  return `backup-store:${operationId}`;
}

export const DEFAULT_BACKUP_CHUNK_BYTES = 8 * 1024 * 1024;
/**
 * zstd's level. 2, not zstd's default 3: on MariaDB pages it compresses as well (within 1 %)
 * for about a third less CPU, which the chunk encryption and hashing then have to spare
 * (docs/benchmarks.md).
 */
export const DEFAULT_BACKUP_ZSTD_LEVEL = 2;
export const DEFAULT_BACKUP_UPLOAD_CONCURRENCY = 4;

// ---------------------------------------------------------------------------------------
// The manifest (written last, beside the chunks)
// ---------------------------------------------------------------------------------------

export const BACKUP_MANIFEST_FORMAT = 'coffer-backup/1';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'not a SHA-256');
/**
 * Where an incremental backup continues from, as its datastore's manager records it (opaque
 * here; MariaDB's: the parent's InnoDB checkpoint LSN `to`, see datastores/mariadb.ts).
 */
export const incrementalBaseSchema = z.string().min(1).max(256);

export const backupChunkSchema = z.object({
  index: z.number().int().nonnegative(),
  /** The object's name within the backup's location. */
  name: z.string().min(1),
  /** Bytes stored (the ciphertext). */
  size: z.number().int().nonnegative(),
  /** Bytes of compressed stream it carries (the plaintext). */
  plainSize: z.number().int().nonnegative(),
  /** SHA-256 of the stored bytes. */
  sha256: hex64,
  /** AES-256-GCM: a fresh 12-byte IV per chunk, and the 16-byte tag (base64). */
  iv: z.string().min(1),
  tag: z.string().min(1),
});
export type BackupChunk = z.infer<typeof backupChunkSchema>;

export const backupParentSchema = z.object({
  backupId: z.uuid(),
  /** The parent's `incrementalBase`: this incremental holds what changed after it. */
  base: incrementalBaseSchema,
});
export type BackupParent = z.infer<typeof backupParentSchema>;

function isRecord(input: unknown): input is Record<string, unknown> {
  return typeof input === 'object' && input !== null && !Array.isArray(input);
}

/**
 * Fields that manifests written before `details` existed carried at their top level (all of
 * them MariaDB's: see datastores/mariadb.ts), and their parent's `toLsn` (now its `base`). A
 * stored manifest is never rewritten (its SHA-256 is recorded), so parsing moves them where a
 * manifest has them now. Guests built before the backup report was neutral reported the same
 * three fields; the report's result is read the same way (`incrementalBase` from `lsn.to`).
 */
const LEGACY_DETAIL_FIELDS = ['lsn', 'binlog', 'gtid'] as const;

function withLegacyDetails(record: Record<string, unknown>): Record<string, unknown> {
  if ('details' in record || !LEGACY_DETAIL_FIELDS.some((field) => field in record)) return record;
  const rest: Record<string, unknown> = { ...record };
  const details: Record<string, unknown> = {};
  for (const field of LEGACY_DETAIL_FIELDS) {
    if (field in rest) details[field] = rest[field];
    delete rest[field];
  }
  return { ...rest, details };
}

function withLegacyParent(record: Record<string, unknown>): Record<string, unknown> {
  const parent = record.parent;
  if (!isRecord(parent) || 'base' in parent || !('toLsn' in parent)) return record;
  const { toLsn, ...rest } = parent;
  return { ...record, parent: { ...rest, base: toLsn } };
}

function legacyManifest(input: unknown): unknown {
  return isRecord(input) ? withLegacyParent(withLegacyDetails(input)) : input;
}

function legacyReportResult(input: unknown): unknown {
  if (!isRecord(input) || 'details' in input) return input;
  const lsn = input.lsn;
  const incrementalBase = isRecord(lsn) && typeof lsn.to === 'string' ? lsn.to : null;
  return { incrementalBase, ...withLegacyDetails(input) };
}

export const backupManifestSchema = z.preprocess(
  legacyManifest,
  z.object({
    format: z.literal(BACKUP_MANIFEST_FORMAT),
    backupId: z.uuid(),
    projectId: z.uuid(),
    instanceId: z.uuid(),
    type: backupTypeSchema,
    /** The tool that made it, as its datastore's manager names it (e.g. `mariadb-backup`). */
    strategy: z.string().min(1).max(64),
    datastore: z.object({
      manager: datastoreManagerSchema,
      /** The datastore version name, e.g. "10.11". */
      version: z.string().min(1),
      /** The server's own version string. */
      serverVersion: z.string().nullable(),
    }),
    parent: backupParentSchema.nullable(),
    compression: z.literal('zstd'),
    compressionLevel: z.number().int().min(1).max(19).optional(),
    encryption: z.object({
      algorithm: z.literal('aes-256-gcm'),
      /** How the key is found: HKDF-SHA256 of the master key, per project. */
      key: z.literal('project'),
    }),
    chunkSize: z.number().int().positive(),
    chunks: z.array(backupChunkSchema),
    /** Bytes of the uncompressed stream (xbstream or SQL). */
    rawBytes: z.number().int().nonnegative(),
    /** Bytes of every chunk stored (the manifest not counted). */
    storedBytes: z.number().int().nonnegative(),
    /**
     * What the datastore's manager records of the backup (its module in contracts holds the
     * schema: MariaDB's LSNs, binlog position and GTID, `mariadbBackupDetailsSchema`).
     */
    details: z.record(z.string(), z.unknown()),
    startedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime(),
  }),
);
export type BackupManifest = z.infer<typeof backupManifestSchema>;

// ---------------------------------------------------------------------------------------
// Guest RPC (merged into guestMethods) and restore
// ---------------------------------------------------------------------------------------

/** The key and the store, sealed for one guest and one operation (see {@link backupKeyAad}). */
const sealedAccessFields = {
  /** The project's backup key (base64 of 32 bytes), sealed with AD `backup-key:<operationId>`. */
  key: sealedSecretSchema,
  /** The JSON of an {@link ObjectStoreConfig}, sealed with AD `backup-store:<operationId>`. */
  store: sealedSecretSchema,
};

export const createBackupParamsSchema = z
  .object({
    backupId: z.uuid(),
    type: backupTypeSchema,
    /** Required for INCREMENTAL, absent otherwise. */
    parent: backupParentSchema.nullable().default(null),
    /** The objects' prefix, {@link backupLocation}. */
    location: z.string().min(1),
    chunkBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(256 * 1024 * 1024)
      .default(DEFAULT_BACKUP_CHUNK_BYTES),
    uploadConcurrency: z.number().int().min(1).max(32).default(DEFAULT_BACKUP_UPLOAD_CONCURRENCY),
    compressionLevel: z.number().int().min(1).max(19).default(DEFAULT_BACKUP_ZSTD_LEVEL),
    /** Store each chunk's manifest entry beside it ({@link backupChunkInfoName}): a restore follows this backup as it is written. */
    isFollowed: z.boolean().default(false),
    /** A replica's snapshot sent straight to its replicas' guests (replica-stream.ts); the object store if none connects. */
    direct: sourceStreamSchema.optional(),
    ...sealedAccessFields,
  })
  .refine((params) => (params.type === 'INCREMENTAL') === (params.parent !== null), {
    message: 'an incremental backup needs its parent, and only an incremental has one',
    path: ['parent'],
  });
export type CreateBackupParams = z.infer<typeof createBackupParamsSchema>;

/** One backup of a restore chain. */
export const restoreBackupSchema = z.object({
  backupId: z.uuid(),
  type: backupTypeSchema,
  location: z.string().min(1),
  /**
   * SHA-256 of the manifest as it was recorded when the backup completed; null for a full
   * backup still being written, which the restore follows chunk by chunk (each chunk's entry
   * stored beside it, its tag checked before its bytes are unpacked, the manifest matched at
   * the end; the control plane checks its SHA-256 before the instance is used: a replica's
   * attach).
   */
  manifestSha256: hex64.nullable(),
});
export type RestoreBackup = z.infer<typeof restoreBackupSchema>;

/**
 * What `prepare` gets to fill a new volume from a backup instead of installing an empty
 * datadir: the chain from its full backup to the restore point, in order (one logical
 * backup alone). The operation id of the sealed fields is the restore point's backup id.
 */
export const restoreSpecSchema = z
  .object({
    backups: z.array(restoreBackupSchema).min(1).max(1000),
    /** A followed snapshot received straight from its source's guest (replica-stream.ts); followed in the object store if that cannot be made. */
    direct: replicaStreamSchema.optional(),
    ...sealedAccessFields,
  })
  .refine(
    ({ backups }) =>
      backups[0]!.type === 'LOGICAL'
        ? backups.length === 1
        : backups[0]!.type === 'FULL' &&
          backups.slice(1).every((backup) => backup.type === 'INCREMENTAL'),
    {
      message:
        'a restore chain is one logical backup, or a full backup and its incrementals in order',
      path: ['backups'],
    },
  )
  .refine(
    ({ backups }) =>
      backups.every((backup) => backup.manifestSha256 !== null) ||
      (backups.length === 1 && backups[0]!.type === 'FULL'),
    {
      message: 'only a single full backup can be followed while it is being written',
      path: ['backups'],
    },
  );
export type RestoreSpec = z.infer<typeof restoreSpecSchema>;

export const backupGuestMethods = {
  /**
   * Makes a backup and stores it (cast; it reports progress and its end to the conductor as
   * `backup` messages). Runs one at a time with the other methods that change the server.
   */
  create_backup: {
    params: createBackupParamsSchema,
    result: z.object({ manifestSha256: hex64 }),
  },
} as const;

// ---------------------------------------------------------------------------------------
// Conductor
// ---------------------------------------------------------------------------------------

/** What the guest tells the conductor about a backup: progress, then COMPLETED or FAILED. */
export const backupReportSchema = z.object({
  backupId: z.uuid(),
  status: z.enum(['BUILDING', 'COMPLETED', 'FAILED']),
  /** 0–100, an estimate while BUILDING (the stream's size is not known in advance). */
  progress: z.number().int().min(0).max(100),
  /** Bytes stored so far (all of them when COMPLETED). */
  storedBytes: z.number().int().nonnegative(),
  rawBytes: z.number().int().nonnegative(),
  /** When COMPLETED: what the manifest says, for the control plane's row. */
  result: z
    .preprocess(
      legacyReportResult,
      z.object({
        manifestSha256: hex64,
        chunkCount: z.number().int().nonnegative(),
        /** The manifest's `details` (the datastore's module reads them). */
        details: z.record(z.string(), z.unknown()),
        /** What an incremental of this backup continues from; null when none can be made of it. */
        incrementalBase: incrementalBaseSchema.nullable(),
        serverVersion: z.string().nullable(),
        startedAt: z.iso.datetime(),
        finishedAt: z.iso.datetime(),
      }),
    )
    .optional(),
  /** When FAILED: why, in words a tenant can read. */
  message: z.string().max(2000).optional(),
});
export type BackupReport = z.infer<typeof backupReportSchema>;
