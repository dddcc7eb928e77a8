import { createHash } from 'node:crypto';
import { isOpenStackError } from './errors';
import type { OpenStackSession, ServiceClient } from './session';

/**
 * Swift with Keystone tokens: the `object-store` endpoint of the token's catalog (the project's
 * account, `…/v1/AUTH_<project id>`), containers and objects. Objects travel as bytes; user
 * metadata is `X-Object-Meta-*` (`X-Container-Meta-*`), given and answered without the prefix.
 * (Coffer's backups with tempauth use their own client in @coffer/objectstore.)
 */

/** Entries per listing request (Swift's own cap is 10,000). */
const PAGE = 1000;

export function swift(session: OpenStackSession): ServiceClient {
  return session.service('object-store');
}

export interface ObjectInfo {
  /** Bytes. */
  contentLength: number;
  contentType: string;
  etag: string;
  lastModified?: string;
  /** `X-Object-Meta-*`, lower-cased names without the prefix. */
  metadata: Record<string, string>;
  /** Swift's transaction id (`x-trans-id`). */
  requestId?: string;
}

export interface StoredObject extends ObjectInfo {
  body: Uint8Array;
}

export interface ObjectListing {
  name: string;
  bytes: number;
  hash: string;
  contentType: string;
  lastModified: string;
}

export interface ContainerListing {
  name: string;
  count: number;
  bytes: number;
}

/** An object's path: each segment encoded, the `/` between them kept. */
function objectPath(container: string, name: string): string {
  return `/${encodeURIComponent(container)}/${name.split('/').map(encodeURIComponent).join('/')}`;
}

function containerPath(container: string): string {
  if (!container || container.includes('/'))
    throw new TypeError(`not a Swift container name: ${JSON.stringify(container)}`);
  return `/${encodeURIComponent(container)}`;
}

function metaHeaders(prefix: string, metadata: Record<string, string> = {}) {
  return Object.fromEntries(
    Object.entries(metadata).map(([key, value]) => [`${prefix}${key}`, value]),
  );
}

function metaOf(prefix: string, headers: Headers): Record<string, string> {
  const metadata: Record<string, string> = {};
  headers.forEach((value, key) => {
    if (key.startsWith(prefix)) metadata[key.slice(prefix.length)] = value;
  });
  return metadata;
}

function infoOf(headers: Headers, requestId?: string): ObjectInfo {
  return {
    contentLength: Number(headers.get('content-length') ?? 0),
    contentType: headers.get('content-type') ?? '',
    etag: (headers.get('etag') ?? '').replace(/"/g, ''),
    lastModified: headers.get('last-modified') ?? undefined,
    metadata: metaOf('x-object-meta-', headers),
    requestId,
  };
}

/** Creates the container (idempotent: an existing one keeps its objects), with metadata. */
export async function createContainer(
  session: OpenStackSession,
  container: string,
  options: { metadata?: Record<string, string> } = {},
): Promise<void> {
  await swift(session).request('PUT', containerPath(container), {
    headers: metaHeaders('x-container-meta-', options.metadata),
  });
}

/**
 * Deletes an empty container; true when it existed. One that still holds objects is CONFLICT
 * at once (Swift's 409 is not retried: it lasts until the objects are deleted).
 */
export async function deleteContainer(
  session: OpenStackSession,
  container: string,
): Promise<boolean> {
  try {
    await swift(session).request('DELETE', containerPath(container), {
      retry: { statuses: [429, 503] },
      notFoundExpected: true,
    });
    return true;
  } catch (error) {
    if (isOpenStackError(error, 'NOT_FOUND')) return false;
    throw error;
  }
}

/** The account's containers, every page of them. */
export async function listContainers(
  session: OpenStackSession,
  options: { prefix?: string } = {},
): Promise<ContainerListing[]> {
  const containers: ContainerListing[] = [];
  let marker: string | undefined;
  for (;;) {
    const page =
      (await swift(session).get<ContainerListing[] | null>('', {
        query: { format: 'json', prefix: options.prefix, marker, limit: PAGE },
      })) ?? [];
    containers.push(...page);
    const last = page.at(-1);
    if (!last || page.length < PAGE) return containers;
    marker = last.name;
  }
}

/**
 * Stores an object. Its MD5 is sent as the ETag, so Swift refuses (INVALID, 422) an object that
 * did not arrive whole. Answers what Swift stored.
 */
export async function putObject(
  session: OpenStackSession,
  container: string,
  name: string,
  body: string | Uint8Array,
  options: {
    contentType?: string;
    metadata?: Record<string, string>;
    deleteAfterSeconds?: number;
  } = {},
): Promise<{ etag: string; requestId?: string }> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const md5 = createHash('md5').update(bytes).digest('hex');
  const headers: Record<string, string> = {
    etag: md5,
    'content-type': options.contentType ?? 'application/octet-stream',
    ...metaHeaders('x-object-meta-', options.metadata),
  };
  if (options.deleteAfterSeconds !== undefined)
    headers['x-delete-after'] = String(options.deleteAfterSeconds);
  const answer = await swift(session).request('PUT', objectPath(container, name), {
    body: bytes,
    headers,
  });
  return {
    etag: (answer.headers.get('etag') ?? md5).replace(/"/g, ''),
    requestId: answer.requestId,
  };
}

/** The object's bytes and what Swift says about it, or null when there is no such object. */
export async function getObject(
  session: OpenStackSession,
  container: string,
  name: string,
): Promise<StoredObject | null> {
  try {
    const answer = await swift(session).request<Uint8Array>('GET', objectPath(container, name), {
      responseType: 'bytes',
      notFoundExpected: true,
    });
    return { ...infoOf(answer.headers, answer.requestId), body: answer.body };
  } catch (error) {
    if (isOpenStackError(error, 'NOT_FOUND')) return null;
    throw error;
  }
}

/** What Swift says about the object (size, type, ETag, metadata), or null when there is none. */
export async function headObject(
  session: OpenStackSession,
  container: string,
  name: string,
): Promise<ObjectInfo | null> {
  try {
    const answer = await swift(session).request('HEAD', objectPath(container, name), {
      notFoundExpected: true,
    });
    return infoOf(answer.headers, answer.requestId);
  } catch (error) {
    if (isOpenStackError(error, 'NOT_FOUND')) return null;
    throw error;
  }
}

/** Deletes the object; true when it existed. */
export async function deleteObject(
  session: OpenStackSession,
  container: string,
  name: string,
): Promise<boolean> {
  try {
    await swift(session).delete(objectPath(container, name), { notFoundExpected: true });
    return true;
  } catch (error) {
    if (isOpenStackError(error, 'NOT_FOUND')) return false;
    throw error;
  }
}

interface RawListing {
  name?: string;
  subdir?: string;
  bytes: number;
  hash: string;
  content_type: string;
  last_modified: string;
}

/** The container's objects (by `prefix`), every page of them. NOT_FOUND for no container. */
export async function listObjects(
  session: OpenStackSession,
  container: string,
  options: { prefix?: string } = {},
): Promise<ObjectListing[]> {
  const objects: ObjectListing[] = [];
  let marker: string | undefined;
  for (;;) {
    const page =
      (await swift(session).get<RawListing[] | null>(containerPath(container), {
        query: { format: 'json', prefix: options.prefix, marker, limit: PAGE },
      })) ?? [];
    for (const entry of page)
      if (entry.name !== undefined)
        objects.push({
          name: entry.name,
          bytes: entry.bytes,
          hash: entry.hash,
          contentType: entry.content_type,
          lastModified: entry.last_modified,
        });
    const last = page.at(-1);
    if (!last?.name || page.length < PAGE) return objects;
    marker = last.name;
  }
}
