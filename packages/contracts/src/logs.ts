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
  /** Bytes of the one rotated file kept (0 when none). */
  rotatedSizeBytes: z.number().int().nonnegative(),
  /** A log is rotated (one old file kept) once it passes this many bytes. */
  maxBytes: z.number().int().positive(),
});
export type LogInfo = z.infer<typeof logInfoSchema>;

/** The most lines one tail returns. */
export const MAX_LOG_TAIL_LINES = 5000;
/** The most bytes of a log one download returns (its end). */
export const MAX_LOG_DOWNLOAD_BYTES = 8 * 1024 * 1024;

export const logShowParamsSchema = z.object({
  name: logNameSchema,
  /** The last N lines (after the search filter). */
  lines: z.number().int().min(1).max(MAX_LOG_TAIL_LINES).default(200),
  /** Only lines containing this text (case-insensitive). */
  search: z.string().max(200).optional(),
  /** Only what was written after this byte offset (a previous answer's `offset`): live following. */
  after: z.number().int().nonnegative().optional(),
});

export const logShowResultSchema = z.object({
  name: logNameSchema,
  /** Masked lines, oldest first. */
  lines: z.array(z.string()),
  /** The file's size when read: pass it as `after` to get only what comes next. */
  offset: z.number().int().nonnegative(),
  /** Lines were left out before these (the tail was cut, or the window was too large). */
  isTruncated: z.boolean(),
});
export type LogShowResult = z.infer<typeof logShowResultSchema>;

export const logDownloadResultSchema = z.object({
  name: logNameSchema,
  /** The masked log (its last {@link MAX_LOG_DOWNLOAD_BYTES} at most). */
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

export const logGuestMethods = {
  /** The error, slow query and general logs: on or off, and their sizes. */
  list_logs: {
    params: z.object({}),
    result: z.object({ logs: z.array(logInfoSchema) }),
  },
  /** Switches the slow query or the general log on or off (kept across restarts). */
  set_log: {
    params: z.object({ name: logNameSchema, enabled: z.boolean() }),
    result: z.object({ log: logInfoSchema }),
  },
  /** The last lines of a log (masked), optionally only those with a text, or only what came after an offset. */
  show_log: {
    params: logShowParamsSchema,
    result: logShowResultSchema,
  },
  /** The whole log (its end, at most MAX_LOG_DOWNLOAD_BYTES), masked. */
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
      /** The project's backup key, sealed with AD `backup-key:<publishId>`. */
      key: sealedSecretSchema,
      /** The object store's JSON, sealed with AD `backup-store:<publishId>`. */
      store: sealedSecretSchema,
    }),
    result: publishedLogSchema,
  },
} as const;
