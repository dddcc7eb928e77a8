import { z } from 'zod';

import { sealedSecretSchema } from './sealed';

/**
 * Database logs (issue 16 part 3; Trove's guest logs: log-list, log-enable, log-disable,
 * log-show, log-publish). The error log is always on; the slow query log and the general log
 * when the tenant enables them. What the guest returns (a tail, a download, a published copy)
 * has every statement that sets a password masked. State lives with the guest (the server's
 * own variables and a file in its volume); published copies are objects in the backup store
 * under {@link logLocation}, sealed with the project's backup key.
 */

export const LOG_NAMES = ['error', 'slow', 'general'] as const;
export const logNameSchema = z.enum(LOG_NAMES);
export type LogName = z.infer<typeof logNameSchema>;

export const logInfoSchema = z.object({
  name: logNameSchema,
  /** The error log is always on. */
  enabled: z.boolean(),
  /** Whether the tenant can switch it (false for the error log). */
  switchable: z.boolean(),
  /** Bytes of the current file (0 when there is none yet). */
  sizeBytes: z.number().int().nonnegative(),
  /** Bytes of the rotated files kept (0 when none), masked. */
  rotatedSizeBytes: z.number().int().nonnegative(),
  /** How many rotated files are kept now (at most {@link MAX_ROTATED_LOG_FILES}). */
  rotatedFiles: z.number().int().nonnegative(),
  /** The current file is rotated once it passes this many bytes (its cap over the files kept + 1). */
  maxBytes: z.number().int().positive(),
  /** The most bytes the log and its rotated files take together (the tenant's, or the default). */
  capBytes: z.number().int().positive(),
  /** The default cap: 1 % of the volume, within 4-64 MiB. */
  defaultCapBytes: z.number().int().positive(),
  /** Whether the tenant set the cap (else the default). */
  isCapSet: z.boolean(),
});
export type LogInfo = z.infer<typeof logInfoSchema>;

/** The most lines one tail returns. */
export const MAX_LOG_TAIL_LINES = 5000;
/** The most bytes of a log one download returns (its end: rotated files, then the current one). */
export const MAX_LOG_DOWNLOAD_BYTES = 16 * 1024 * 1024;
/** The most bytes of a log one published copy holds (its end). */
export const MAX_LOG_PUBLISH_BYTES = 32 * 1024 * 1024;
/** The most bytes one step of a tail by offset reads (the rest comes with the next step). */
export const MAX_LOG_TAIL_STEP_BYTES = 256 * 1024;
/** Rotated files kept per log (`<file>.1` newest … `<file>.3`), within the log's cap. */
export const MAX_ROTATED_LOG_FILES = 3;
/** The cap a tenant may set on a log: 1 MiB to 256 MiB (and at most 10 % of the volume). */
export const MIN_LOG_CAP_BYTES = 1024 * 1024;
export const MAX_LOG_CAP_BYTES = 256 * 1024 * 1024;

export const logSetFieldsSchema = z.object({
  name: logNameSchema,
  /** On or off (the slow query and general logs only). */
  enabled: z.boolean().optional(),
  /** The log's cap in bytes (with its rotated files); null: back to the default. */
  capBytes: z.number().int().min(MIN_LOG_CAP_BYTES).max(MAX_LOG_CAP_BYTES).nullable().optional(),
});
export const logSetParamsSchema = logSetFieldsSchema.refine(
  (params) => params.enabled !== undefined || params.capBytes !== undefined,
  {
    message: 'Give enabled or capBytes',
  },
);

export const logShowParamsSchema = z.object({
  name: logNameSchema,
  /** The last N lines (after the search filter). */
  lines: z.number().int().min(1).max(MAX_LOG_TAIL_LINES).default(200),
  /** Only lines containing this text (case-insensitive). */
  search: z.string().max(200).optional(),
  /** Only what was written after this byte offset (a previous answer's `offset`): live following. */
  after: z.number().int().nonnegative().optional(),
  /**
   * A tail by offset: the lines from this byte offset on (a previous answer's `offset`), oldest
   * first, at most {@link MAX_LOG_TAIL_STEP_BYTES} per call (`hasMore` then); `lines` and
   * `search` do not apply. From 0 when the file is another one now (`fileId`) or shorter.
   */
  fromOffset: z.number().int().nonnegative().optional(),
  /** The file the offset is in (a previous answer's `fileId`). */
  fileId: z.string().max(64).optional(),
});

export const logShowResultSchema = z.object({
  name: logNameSchema,
  /** Masked lines, oldest first. */
  lines: z.array(z.string()),
  /** The file's size when read: pass it as `after` to get only what comes next. */
  offset: z.number().int().nonnegative(),
  /** Lines were left out before these (the tail was cut, or the window was too large). */
  isTruncated: z.boolean(),
  /** The file read (its inode): it changes when the log is rotated. */
  fileId: z.string().optional(),
  /** A tail by offset read from the start of another file (the log was rotated since). */
  isRestarted: z.boolean().optional(),
  /** A tail by offset stopped before the end: ask again from `offset` at once. */
  hasMore: z.boolean().optional(),
});
export type LogShowResult = z.infer<typeof logShowResultSchema>;

export const logDownloadResultSchema = z.object({
  name: logNameSchema,
  /** The masked log, rotated files first (its last {@link MAX_LOG_DOWNLOAD_BYTES} at most). */
  text: z.string(),
  isTruncated: z.boolean(),
});

/** Where an instance's published logs live: `logs/<projectId>/<instanceId>/`. */
export function logLocation(projectId: string, instanceId: string): string {
  return `logs/${projectId}/${instanceId}/`;
}
/** The associated data a published log is sealed with (as a backup chunk: `coffer-backup:<publishId>:0`). */
export const PUBLISHED_LOG_FORMAT = 'coffer-log/1';

/** What is stored beside a published log (`<publishId>.json`): nothing secret. */
export const publishedLogSchema = z.object({
  format: z.literal(PUBLISHED_LOG_FORMAT),
  publishId: z.uuid(),
  name: logNameSchema,
  /** The instance's name when it was published (shown once the instance is gone). */
  instanceName: z.string().max(255).optional(),
  /** The sealed object's name, within the store. */
  object: z.string(),
  createdAt: z.iso.datetime(),
  /** Bytes of the masked log. */
  plainSize: z.number().int().nonnegative(),
  /** Bytes stored (the ciphertext). */
  size: z.number().int().nonnegative(),
  sha256: z.string(),
  iv: z.string(),
  tag: z.string(),
});
export type PublishedLog = z.infer<typeof publishedLogSchema>;

/** A published copy in a project's listing: whose instance it was (its id is in the object's path). */
export const projectPublishedLogSchema = publishedLogSchema.extend({ instanceId: z.string() });
export type ProjectPublishedLog = z.infer<typeof projectPublishedLogSchema>;

/** The instance a published object belongs to (`logs/<projectId>/<instanceId>/…`), or null. */
export function publishedLogInstance(projectId: string, object: string): string | null {
  const prefix = `logs/${projectId}/`;
  if (!object.startsWith(prefix)) return null;
  const rest = object.slice(prefix.length).split('/');
  const [instanceId, file] = rest;
  if (rest.length !== 2 || !instanceId || !file) return null;
  return instanceId.startsWith('.') || file.startsWith('.') ? null : instanceId;
}

export const logGuestMethods = {
  /** The error, slow query and general logs: on or off, and their sizes. */
  list_logs: {
    params: z.object({}),
    result: z.object({ logs: z.array(logInfoSchema) }),
  },
  /** Switches the slow query or the general log on or off, or sets a log's cap (kept across restarts). */
  set_log: {
    params: logSetParamsSchema,
    result: z.object({ log: logInfoSchema }),
  },
  /** The last lines of a log (masked), optionally only those with a text, or only what came after an offset; or a tail by offset (`fromOffset`). */
  show_log: {
    params: logShowParamsSchema,
    result: logShowResultSchema,
  },
  /** The whole log, rotated files first (its end, at most MAX_LOG_DOWNLOAD_BYTES), masked. */
  download_log: {
    params: z.object({ name: logNameSchema }),
    result: logDownloadResultSchema,
  },
  /**
   * Copies a log (masked) to the object store under `location`, sealed with the project's
   * backup key (AES-256-GCM, AD `coffer-backup:<publishId>:0`), and its description beside it.
   */
  publish_log: {
    params: z.object({
      name: logNameSchema,
      publishId: z.uuid(),
      location: z.string().min(1),
      /** The instance's name, kept in the description. */
      instanceName: z.string().max(255).optional(),
      /** The project's backup key, sealed with AD `backup-key:<publishId>`. */
      key: sealedSecretSchema,
      /** The object store's JSON, sealed with AD `backup-store:<publishId>`. */
      store: sealedSecretSchema,
    }),
    result: publishedLogSchema,
  },
} as const;
