import { isOpenStackError } from './errors';
import {
  DEFAULT_RETRY,
  newGlobalRequestId,
  send,
  type FetchLike,
  type HttpOptions,
  type HttpResponse,
  type RetryPolicy,
} from './http';
import type { EndpointInterface, KeystoneAuth } from './keystone';
import { silentLogger, type OpenStackLogger } from './logger';

/** The service name a microversion header names, per catalog type (Glance and Neutron have none). */
const MICROVERSION_SERVICE: Record<string, string> = {
  compute: 'compute',
  volumev3: 'volume',
  'block-storage': 'volume',
  volume: 'volume',
  placement: 'placement',
  'shared-file-system': 'shared-file-system',
};

export interface SessionOptions {
  auth: KeystoneAuth;
  region?: string;
  interface?: EndpointInterface;
  /** Per service type, a URL to use instead of the catalog's. */
  endpointOverrides?: Record<string, string>;
  logger?: OpenStackLogger;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  fetch?: FetchLike;
  sleep?: (ms: number) => Promise<void>;
}

export interface ServiceOptions {
  /** This service's microversion, sent as `OpenStack-API-Version: <service> <version>` to it only. */
  microversion?: string;
}

export interface RequestOptions {
  json?: unknown;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  /** Query parameters; arrays repeat the key (`?tags=a&tags=b`), undefined values are left out. */
  query?: Record<string, string | number | boolean | readonly string[] | undefined>;
  /** `bytes`: the body as a Uint8Array (Swift objects) instead of parsed JSON or text. */
  responseType?: 'parsed' | 'bytes';
  /**
   * This call's retries, over the session's: e.g. `{ statuses: [429, 503] }` where the
   * service's 409 means a lasting conflict (a rule that exists, a container not empty).
   */
  retry?: Partial<RetryPolicy>;
  /** A 404 is an expected answer (logged at debug, still NOT_FOUND): `HttpRequest.notFoundExpected`. */
  notFoundExpected?: boolean;
}

/**
 * An authenticated view of one cloud: a KeystoneAuth, a region and interface, and the request
 * core's settings, from which each service gets its client (`service('compute', {…})`).
 */
export class OpenStackSession {
  readonly auth: KeystoneAuth;
  readonly region?: string;
  readonly interface: EndpointInterface;
  private readonly overrides: Record<string, string>;
  readonly http: HttpOptions;

  constructor(options: SessionOptions) {
    this.auth = options.auth;
    this.region = options.region;
    this.interface = options.interface ?? 'public';
    this.overrides = options.endpointOverrides ?? {};
    this.http = {
      logger: options.logger ?? silentLogger,
      retry: { ...DEFAULT_RETRY, ...options.retry },
      timeoutMs: options.timeoutMs ?? 60_000,
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    };
  }

  service(type: string, options: ServiceOptions = {}): ServiceClient {
    return new ServiceClient(this, type, options);
  }

  async endpoint(type: string): Promise<string> {
    const override = this.overrides[type];
    if (override) return override.replace(/\/+$/, '');
    return this.auth.endpoint(type, { region: this.region, interface: this.interface });
  }
}

/**
 * Requests to one service: its catalog endpoint, the token (renewed once if the service answers
 * 401), its own microversion header, and the request core's retries and errors.
 */
export class ServiceClient {
  constructor(
    private readonly session: OpenStackSession,
    readonly type: string,
    readonly options: ServiceOptions,
  ) {}

  /** The headers only this service gets (its microversion). */
  versionHeaders(): Record<string, string> {
    const { microversion } = this.options;
    if (!microversion) return {};
    const name = MICROVERSION_SERVICE[this.type];
    if (!name) throw new TypeError(`${this.type} has no microversions`);
    return { 'openstack-api-version': `${name} ${microversion}` };
  }

  async url(path: string, query?: RequestOptions['query']): Promise<string> {
    const base = await this.session.endpoint(this.type);
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) search.append(key, v);
      else search.append(key, String(value));
    }
    const qs = search.toString();
    const slash = path === '' || path.startsWith('/') ? '' : '/';
    return `${base}${slash}${path}${qs ? `?${qs}` : ''}`;
  }

  async request<T = unknown>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<HttpResponse<T>> {
    const url = await this.url(path, options.query);
    const globalRequestId = newGlobalRequestId();
    const http = options.retry
      ? { ...this.session.http, retry: { ...this.session.http.retry, ...options.retry } }
      : this.session.http;
    for (let renewed = false; ; renewed = true) {
      const token = await this.session.auth.token();
      try {
        return await send<T>(
          {
            service: this.type,
            method,
            url,
            json: options.json,
            body: options.body,
            responseType: options.responseType,
            notFoundExpected: options.notFoundExpected,
            globalRequestId,
            headers: { ...this.versionHeaders(), ...options.headers, 'x-auth-token': token.id },
          },
          http,
        );
      } catch (error) {
        // A token revoked, or expired early, is renewed once; a second 401 is the answer.
        if (!renewed && isOpenStackError(error, 'UNAUTHORIZED')) {
          this.session.http.logger.info(
            { service: this.type, method, url, requestId: error.requestId },
            'openstack token refused, renewing it',
          );
          this.session.auth.invalidate(token.id);
          continue;
        }
        throw error;
      }
    }
  }

  async get<T = unknown>(path: string, options?: RequestOptions): Promise<T> {
    return (await this.request<T>('GET', path, options)).body;
  }

  async post<T = unknown>(path: string, json?: unknown, options?: RequestOptions): Promise<T> {
    return (await this.request<T>('POST', path, { ...options, json })).body;
  }

  async put<T = unknown>(path: string, json?: unknown, options?: RequestOptions): Promise<T> {
    return (await this.request<T>('PUT', path, { ...options, json })).body;
  }

  async delete(path: string, options?: RequestOptions): Promise<void> {
    await this.request('DELETE', path, options);
  }
}
