import { createHash } from 'node:crypto';

import { type ObjectStoreKind } from '@coffer/contracts';

/**
 * One interface for the places backups go (DESIGN.md "Backups"): a local directory and
 * OpenStack Swift. Objects are whole buffers of bounded size (a backup's chunks and its
 * manifest), named by relative paths such as `backups/<project>/<backup>/chunk-000000`.
 * Every write is checked by its MD5 (Swift's ETag); every read of Swift by the ETag too.
 */

export interface ObjectInfo {
  name: string;
  size: number;
  /** Hex MD5 of the object as the store lists it (Swift's `hash`); absent for a store without one (a local file). */
  etag?: string;
}

/** One segment of a {@link ObjectStore.putSegmentManifest} manifest: an object of the same container. */
export interface ManifestSegment {
  name: string;
  /** Its hex MD5 (Swift's ETag): Swift refuses the manifest if the object's differs. */
  etag: string;
  size: number;
}

export interface SegmentManifestResult {
  /** Bytes of the object the manifest makes (the segments' sum). */
  size: number;
  /** Manifests written: 1, or more when the segments needed nested manifests. */
  manifests: number;
}

export interface PutResult {
  /** Hex MD5 of what was stored, as the store confirmed it (Swift's ETag); null for a store without such a check (a local file). */
  etag: string | null;
  size: number;
}

export interface ObjectStore {
  readonly kind: ObjectStoreKind;
  /** Where the objects go, for logs and faults (never a credential). */
  readonly description: string;
  /** Stores `body` under `name` (replacing what was there), durably; Swift: fails unless it confirms the MD5. */
  put(name: string, body: Buffer): Promise<PutResult>;
  /** The object's bytes; {@link ObjectNotFoundError} when there is none. */
  get(name: string): Promise<Buffer>;
  /**
   * A local directory only (absent elsewhere): the object's bytes read into the start of
   * `target` (the returned Buffer is that part of it), or into a new Buffer when it is larger
   * than `target`; as {@link get} otherwise. Lets a reader of many objects of one size (a
   * restore's chunks) reuse its buffers instead of leaving one dead buffer per object.
   */
  getInto?(name: string, target: Buffer): Promise<Buffer>;
  /** Removes the object; false when there was none (idempotent). */
  delete(name: string): Promise<boolean>;
  /** Every object whose name starts with `prefix`, by name. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /**
   * Swift only (absent elsewhere): writes `name` as a Static Large Object, one object whose
   * bytes are `segments`' concatenation for Swift's own tools (a GET, `swift download`).
   * Above the per-manifest limit (Swift's 1000), nested manifests `<name>.part-<level>-NNNNNN`
   * hold the segments. Removing it is a plain {@link delete} of `name` (and of the parts),
   * which leaves the segments alone.
   */
  putSegmentManifest?(name: string, segments: ManifestSegment[]): Promise<SegmentManifestResult>;
  /** Removes every object whose name starts with `prefix`; returns how many there were. */
  deletePrefix(prefix: string): Promise<number>;
  /** Releases connections (idle keep-alive sockets). */
  close(): Promise<void>;
}

export class ObjectStoreError extends Error {
  constructor(message: string, options?: ErrorOptions & { status?: number }) {
    super(message, options);
    this.name = 'ObjectStoreError';
    this.status = options?.status;
  }

  /** The HTTP status, when a server answered. */
  readonly status: number | undefined;
}

export class ObjectNotFoundError extends ObjectStoreError {
  constructor(readonly objectName: string) {
    super(`object ${objectName} does not exist`, { status: 404 });
    this.name = 'ObjectNotFoundError';
  }
}

/** The store refused or corrupted a write (its MD5 is not what was sent). */
export class ChecksumMismatchError extends ObjectStoreError {
  constructor(objectName: string, expected: string, actual: string) {
    super(`object ${objectName}: the store answered MD5 ${actual}, expected ${expected}`);
    this.name = 'ChecksumMismatchError';
  }
}

export function md5Hex(body: Buffer): string {
  return createHash('md5').update(body).digest('hex');
}

const NAME_PATTERN = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** Object names are relative paths of plain segments: no `..`, no empty segment, no leading `/`. */
export function assertObjectName(name: string): void {
  if (
    !NAME_PATTERN.test(name) ||
    name.split('/').some((segment) => segment === '.' || segment === '..')
  ) {
    throw new ObjectStoreError(`not a valid object name: ${JSON.stringify(name)}`);
  }
}

/** A prefix is a name's beginning: plain segments, possibly ending with `/`; empty means everything. */
export function assertObjectPrefix(prefix: string): void {
  if (prefix === '') return;
  assertObjectName(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}
