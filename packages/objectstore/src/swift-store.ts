import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { setTimeout as delay } from 'node:timers/promises';

import { type ObjectStoreConfig } from '@coffer/contracts';
import { findEndpoint, isOpenStackError, KeystoneAuth } from '@coffer/openstack';

import { nodeFetch } from './node-fetch';

import {
  assertObjectName,
  assertObjectPrefix,
  ChecksumMismatchError,
  md5Hex,
  ObjectNotFoundError,
  ObjectStoreError,
  type ManifestSegment,
  type ObjectInfo,
  type ObjectStore,
  type PutResult,
  type SegmentManifestResult,
} from './object-store';

/**
 * OpenStack Swift (the object API v1), authenticated one of two ways:
 * - tempauth: `GET <authUrl>` with `X-Auth-User` and `X-Auth-Key` answers a token
 *   (`X-Auth-Token`) and the account's storage URL (`X-Storage-Url`). The token is kept and
 *   shared by concurrent requests; a 401 (it expired or was revoked) gets a fresh one, once
 *   per request.
 * - Keystone v3 (`auth: 'keystone'`): `KeystoneAuth` from `@coffer/openstack` (asked over
 *   `node:http`, see node-fetch.ts) issues a project-scoped token for a password or an
 *   application credential, shares it, renews it before it expires and after a 401 (once per
 *   request); the storage URL is the token catalog's `object-store` endpoint (the project's
 *   `AUTH_<id>` account) for the configured region and interface.
 *
 * Both write the same objects under the same names. A backup is its chunk objects plus
 * Coffer's own manifest object; {@link SwiftObjectStore.putSegmentManifest} adds a Static
 * Large Object over the chunks (the worker writes one per backup, for Swift's own tools;
 * nothing of Coffer reads it). Every PUT sends the body's MD5 as `ETag`, so Swift refuses (422) a body that
 * arrived damaged, and the ETag it answers is checked again; every GET is checked against
 * the ETag it comes with. Transient failures (connection errors, 5xx, 408, 429) are retried
 * with backoff; all of this store's requests are idempotent.
 */

export type SwiftObjectStoreConfig = Extract<ObjectStoreConfig, { kind: 'swift' }>;
export type KeystoneSwiftObjectStoreConfig = Extract<SwiftObjectStoreConfig, { auth: 'keystone' }>;
export type TempauthSwiftObjectStoreConfig = Exclude<
  SwiftObjectStoreConfig,
  KeystoneSwiftObjectStoreConfig
>;

export interface SwiftStoreOptions {
  /** Parallel connections to the proxy (keep-alive). */
  maxSockets?: number;
  /** One request's deadline (connect to last byte). */
  requestTimeoutMs?: number;
  /** Tries of one request before it fails (transient errors only). */
  attempts?: number;
  /** Largest body this store reads into memory (a manifest or a chunk). */
  maxResponseBytes?: number;
  /** Names per page of a container listing (Swift allows up to 10,000). */
  listingPageSize?: number;
  /** Segments per Static Large Object manifest (Swift's `max_manifest_segments`, 1000 by default); more are nested. */
  maxManifestSegments?: number;
  /** Keystone only: renew the token when it expires within this (default 5 min). */
  renewBeforeMs?: number;
  /** Keystone only: the clock the token cache compares expiry against (tests). */
  now?: () => number;
}

interface Session {
  token: string;
  storageUrl: URL;
}

interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isTransient(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

export class SwiftObjectStore implements ObjectStore {
  readonly kind = 'swift' as const;
  readonly description: string;
  private readonly agents: { 'http:': http.Agent; 'https:': https.Agent };
  /** Keystone's token cache (Keystone auth), or null (tempauth). */
  readonly keystone: KeystoneAuth | null;
  private readonly requestTimeoutMs: number;
  private readonly attempts: number;
  private readonly maxResponseBytes: number;
  private readonly listingPageSize: number;
  private readonly maxManifestSegments: number;
  private session: Promise<Session> | null = null;
  private container: Promise<void> | null = null;

  constructor(
    private readonly config: SwiftObjectStoreConfig,
    options: SwiftStoreOptions = {},
  ) {
    const authUrl = new URL(config.authUrl);
    this.description =
      config.auth === 'keystone'
        ? `swift container ${config.container} (Keystone at ${authUrl.host})`
        : `swift container ${config.container} at ${authUrl.host}`;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 8 };
    this.agents = {
      'http:': new http.Agent(agentOptions),
      'https:': new https.Agent(agentOptions),
    };
    this.keystone =
      config.auth === 'keystone'
        ? new KeystoneAuth({
            authUrl: config.authUrl,
            credentials: config.credentials,
            renewBeforeMs: options.renewBeforeMs,
            now: options.now,
            timeoutMs: options.requestTimeoutMs ?? 30_000,
            fetch: nodeFetch(this.agents[authUrl.protocol === 'https:' ? 'https:' : 'http:']),
          })
        : null;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 120_000;
    this.attempts = options.attempts ?? 4;
    this.maxResponseBytes = options.maxResponseBytes ?? 512 * 1024 * 1024;
    this.listingPageSize = options.listingPageSize ?? 1000;
    this.maxManifestSegments = options.maxManifestSegments ?? 1000;
  }

  /** One HTTP exchange (no retries), the whole response body read. */
  private send(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body?: Buffer,
  ): Promise<Response> {
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const request = transport.request(
        url,
        {
          method,
          agent: this.agents[url.protocol === 'https:' ? 'https:' : 'http:'],
          headers: { ...headers, 'Content-Length': String(body?.length ?? 0) },
          timeout: this.requestTimeoutMs,
        },
        (response) => {
          const parts: Buffer[] = [];
          let length = 0;
          response.on('data', (part: Buffer) => {
            length += part.length;
            if (length > this.maxResponseBytes) {
              request.destroy(
                new ObjectStoreError(
                  `${method} ${url.pathname}: response larger than ${this.maxResponseBytes} bytes`,
                ),
              );
              return;
            }
            parts.push(part);
          });
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(parts, length),
            }),
          );
          response.on('error', reject);
        },
      );
      request.on('timeout', () =>
        request.destroy(
          new ObjectStoreError(
            `${method} ${url.pathname}: no answer within ${this.requestTimeoutMs} ms`,
          ),
        ),
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  private authenticate(): Promise<Session> {
    const config = this.config;
    if (config.auth === 'keystone') return this.keystoneSession(config);
    this.session ??= (async () => {
      const url = new URL(config.authUrl);
      let response: Response;
      try {
        response = await this.withRetries('authenticating', () =>
          this.send('GET', url, { 'X-Auth-User': config.user, 'X-Auth-Key': config.key }),
        );
      } catch (error) {
        throw new ObjectStoreError(
          `could not authenticate with ${this.description}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      if (response.status === 401 || response.status === 403) {
        throw new ObjectStoreError(
          `${this.description} refused the credentials of ${config.user}`,
          { status: response.status },
        );
      }
      const token = header(response.headers, 'x-auth-token');
      const storageUrl = header(response.headers, 'x-storage-url');
      if (response.status >= 300 || !token || !storageUrl) {
        throw new ObjectStoreError(
          `authenticating with ${this.description} failed (HTTP ${response.status})`,
          { status: response.status },
        );
      }
      return { token, storageUrl: new URL(storageUrl) };
    })();
    // A failed authentication is not kept: the next request tries again.
    this.session.catch(() => (this.session = null));
    return this.session;
  }

  /** A token from Keystone's cache (renewed before it expires) and the catalog's Swift account. */
  private async keystoneSession(config: KeystoneSwiftObjectStoreConfig): Promise<Session> {
    try {
      const token = await this.keystone!.token();
      const storageUrl = findEndpoint(token.catalog, 'object-store', {
        region: config.region,
        interface: config.interface,
      });
      return { token: token.id, storageUrl: new URL(storageUrl) };
    } catch (error) {
      const who =
        config.credentials.type === 'password'
          ? `${config.credentials.username} (project ${config.credentials.projectName})`
          : `application credential ${config.credentials.id}`;
      if (isOpenStackError(error) && error.code === 'UNAUTHORIZED') {
        throw new ObjectStoreError(`${this.description} refused the credentials of ${who}`, {
          status: error.status,
          cause: error,
        });
      }
      throw new ObjectStoreError(
        `could not authenticate with ${this.description}: ${(error as Error).message}`,
        { cause: error, status: isOpenStackError(error) ? error.status : undefined },
      );
    }
  }

  /** Forgets a token Swift refused, so that the next {@link authenticate} gets a fresh one. */
  private forget(session: Session): void {
    if (this.keystone) this.keystone.invalidate(session.token);
    else this.session = null;
  }

  /** Retries `exchange` on connection errors and transient statuses, with exponential backoff. */
  private async withRetries(what: string, exchange: () => Promise<Response>): Promise<Response> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        const response = await exchange();
        if (!isTransient(response.status) || attempt === this.attempts) return response;
        lastError = new ObjectStoreError(`${what}: HTTP ${response.status}`, {
          status: response.status,
        });
      } catch (error) {
        if (
          error instanceof ObjectStoreError &&
          error.status === undefined &&
          /larger than/.test(error.message)
        )
          throw error;
        lastError = error;
        if (attempt === this.attempts) break;
      }
      await delay(Math.min(5_000, 200 * 2 ** (attempt - 1)));
    }
    throw lastError instanceof Error ? lastError : new ObjectStoreError(`${what} failed`);
  }

  /** A request against the account's storage URL, with the token; a 401 re-authenticates once. */
  private async request(
    method: string,
    path: string,
    {
      headers = {},
      body,
      query,
    }: { headers?: Record<string, string>; body?: Buffer; query?: Record<string, string> } = {},
  ): Promise<Response> {
    const what = `${method} ${path}`;
    let session = await this.authenticate();
    const urlOf = (base: URL) => {
      const url = new URL(base.toString().replace(/\/+$/, '') + path);
      for (const [name, value] of Object.entries(query ?? {})) url.searchParams.set(name, value);
      return url;
    };
    let response = await this.withRetries(what, () =>
      this.send(
        method,
        urlOf(session.storageUrl),
        { ...headers, 'X-Auth-Token': session.token },
        body,
      ),
    );
    if (response.status === 401) {
      this.forget(session);
      session = await this.authenticate();
      response = await this.withRetries(what, () =>
        this.send(
          method,
          urlOf(session.storageUrl),
          { ...headers, 'X-Auth-Token': session.token },
          body,
        ),
      );
    }
    return response;
  }

  private containerPath(): string {
    return `/${encodeURIComponent(this.config.container)}`;
  }

  private objectPath(name: string): string {
    assertObjectName(name);
    return `${this.containerPath()}/${name.split('/').map(encodeURIComponent).join('/')}`;
  }

  /** Creates the container on first use (PUT is idempotent: 201 or 202). */
  private ensureContainer(): Promise<void> {
    this.container ??= (async () => {
      const response = await this.request('PUT', this.containerPath());
      if (response.status !== 201 && response.status !== 202) {
        throw new ObjectStoreError(
          `could not create the container ${this.config.container} (HTTP ${response.status})`,
          { status: response.status },
        );
      }
    })();
    this.container.catch(() => (this.container = null));
    return this.container;
  }

  async put(name: string, body: Buffer): Promise<PutResult> {
    const md5 = md5Hex(body);
    await this.ensureContainer();
    let response = await this.request('PUT', this.objectPath(name), {
      headers: { ETag: md5, 'Content-Type': 'application/octet-stream' },
      body,
    });
    if (response.status === 404) {
      // The container went away meanwhile: make it again, once.
      this.container = null;
      await this.ensureContainer();
      response = await this.request('PUT', this.objectPath(name), {
        headers: { ETag: md5, 'Content-Type': 'application/octet-stream' },
        body,
      });
    }
    if (response.status === 422) {
      throw new ChecksumMismatchError(name, md5, 'a different body (Swift refused the ETag)');
    }
    if (response.status !== 201) {
      throw new ObjectStoreError(
        `could not store ${name} in ${this.description} (HTTP ${response.status})`,
        { status: response.status },
      );
    }
    const etag = (header(response.headers, 'etag') ?? '').replace(/"/g, '');
    if (etag !== md5) throw new ChecksumMismatchError(name, md5, etag || '(none)');
    return { etag, size: body.length };
  }

  async get(name: string): Promise<Buffer> {
    const response = await this.request('GET', this.objectPath(name));
    if (response.status === 404) throw new ObjectNotFoundError(name);
    if (response.status !== 200) {
      throw new ObjectStoreError(
        `could not read ${name} from ${this.description} (HTTP ${response.status})`,
        { status: response.status },
      );
    }
    const etag = (header(response.headers, 'etag') ?? '').replace(/"/g, '');
    const md5 = md5Hex(response.body);
    // A Static Large Object's ETag is the MD5 of its segments' ETags, not of its bytes (Swift
    // checks each segment against the manifest as it sends it).
    const isLargeObject = header(response.headers, 'x-static-large-object') === 'True';
    if (etag && etag !== md5 && !isLargeObject) {
      throw new ObjectStoreError(
        `object ${name} arrived damaged from ${this.description} (MD5 ${md5}, ETag ${etag})`,
      );
    }
    return response.body;
  }

  async delete(name: string): Promise<boolean> {
    const response = await this.request('DELETE', this.objectPath(name));
    if (response.status === 404) return false;
    if (response.status !== 204 && response.status !== 200) {
      throw new ObjectStoreError(
        `could not delete ${name} from ${this.description} (HTTP ${response.status})`,
        { status: response.status },
      );
    }
    return true;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertObjectPrefix(prefix);
    const found: ObjectInfo[] = [];
    let marker = '';
    for (;;) {
      const response = await this.request('GET', this.containerPath(), {
        query: {
          format: 'json',
          prefix,
          limit: String(this.listingPageSize),
          ...(marker ? { marker } : {}),
        },
      });
      if (response.status === 404) return found; // no container yet: nothing stored
      if (response.status === 204) break;
      if (response.status !== 200) {
        throw new ObjectStoreError(`could not list ${this.description} (HTTP ${response.status})`, {
          status: response.status,
        });
      }
      const page = JSON.parse(response.body.toString('utf8')) as Array<{
        name: string;
        bytes: number;
        hash?: string;
      }>;
      for (const entry of page)
        found.push({
          name: entry.name,
          size: entry.bytes,
          ...(entry.hash ? { etag: entry.hash } : {}),
        });
      if (page.length < this.listingPageSize) break;
      marker = page.at(-1)!.name;
    }
    return found;
  }

  /**
   * `PUT <name>?multipart-manifest=put` with `[{path: "/<container>/<segment>", etag,
   * size_bytes}]` (the slo middleware must be in the proxy's pipeline: Swift would otherwise
   * store the JSON as a plain object, which is refused here). Swift checks every segment's
   * size and ETag before it writes the manifest. Above {@link maxManifestSegments} segments,
   * each run of that many becomes a manifest `<name>.part-<level>-NNNNNN` of its own and
   * `name` lists those (nested SLOs), as many levels as needed.
   */
  async putSegmentManifest(
    name: string,
    segments: ManifestSegment[],
  ): Promise<SegmentManifestResult> {
    assertObjectName(name);
    if (segments.length === 0) {
      throw new ObjectStoreError(`${name}: a Static Large Object needs at least one segment`);
    }
    const entryOf = (segment: ManifestSegment) => {
      assertObjectName(segment.name);
      return {
        path: `/${this.config.container}/${segment.name}`,
        etag: segment.etag,
        size_bytes: segment.size,
      };
    };
    let level = segments.map(entryOf);
    let manifests = 0;
    for (let depth = 1; level.length > this.maxManifestSegments; depth++) {
      const groups: (typeof level)[] = [];
      for (let start = 0; start < level.length; start += this.maxManifestSegments)
        groups.push(level.slice(start, start + this.maxManifestSegments));
      level = await Promise.all(
        groups.map(async (group, index) => {
          const part = `${name}.part-${depth}-${String(index).padStart(6, '0')}`;
          await this.putManifestObject(part, group);
          return entryOf({
            name: part,
            // A nested manifest's ETag: the MD5 of its segments' ETags, as Swift computes it.
            etag: md5Hex(Buffer.from(group.map((entry) => entry.etag).join(''))),
            size: group.reduce((sum, entry) => sum + entry.size_bytes, 0),
          });
        }),
      );
      manifests += groups.length;
    }
    await this.putManifestObject(name, level);
    return {
      size: segments.reduce((sum, segment) => sum + segment.size, 0),
      manifests: manifests + 1,
    };
  }

  private async putManifestObject(
    name: string,
    entries: Array<{ path: string; etag: string; size_bytes: number }>,
  ): Promise<void> {
    await this.ensureContainer();
    const response = await this.request('PUT', this.objectPath(name), {
      query: { 'multipart-manifest': 'put' },
      headers: { 'Content-Type': 'application/octet-stream' },
      body: Buffer.from(JSON.stringify(entries)),
    });
    if (response.status !== 201) {
      // Swift names the segments it refused (missing, another size or ETag) in the body.
      const reason = response.body.toString('utf8').trim().slice(0, 500);
      throw new ObjectStoreError(
        `could not store the Static Large Object ${name} in ${this.description} (HTTP ${response.status}${reason ? `: ${reason}` : ''})`,
        { status: response.status },
      );
    }
    // Without the slo middleware the proxy stores the JSON itself: a HEAD says which it is.
    const head = await this.request('HEAD', this.objectPath(name));
    if (header(head.headers, 'x-static-large-object') !== 'True') {
      await this.delete(name);
      throw new ObjectStoreError(
        `${this.description} stored ${name} as a plain object: its proxy has no slo middleware`,
      );
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const objects = await this.list(prefix);
    const queue = [...objects];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await this.delete(next.name);
    };
    await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker));
    return objects.length;
  }

  async close(): Promise<void> {
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
  }
}
