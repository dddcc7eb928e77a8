import { randomUUID } from 'node:crypto';
import { OpenStackError, codeForStatus, parseErrorBody } from './errors';
import type { OpenStackLogger } from './logger';

/** When and how often a refused request is tried again. */
export interface RetryPolicy {
  /** Tries in all, the first included (default 5). */
  attempts: number;
  /** First backoff when the answer has no Retry-After; doubles each time, with jitter (default 250 ms). */
  baseDelayMs: number;
  /** Cap of the computed backoff (default 5 s). */
  maxDelayMs: number;
  /** Cap of a server's Retry-After: a longer one fails the call instead of waiting (default 60 s). */
  maxRetryAfterMs: number;
  /** Statuses retried for every method (default 409, 429, 503); a quota 409 never is. */
  statuses: readonly number[];
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 60_000,
  statuses: [409, 429, 503],
};

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface HttpRequest {
  /** Catalog service type, for the logs and errors. */
  service: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** A JSON body (sent as application/json) … */
  json?: unknown;
  /** … or raw bytes or text. */
  body?: string | Uint8Array;
  /** The global request id to send; one is made when absent. Kept across retries. */
  globalRequestId?: string;
  /** `bytes`: the answer's body as a Uint8Array, whatever its type (Swift objects). */
  responseType?: 'parsed' | 'bytes';
  /**
   * A 404 is an expected answer here (a lookup of what may not exist, a delete of what may be
   * gone already): it is logged at debug, not as a refusal at warn. It still fails NOT_FOUND.
   */
  notFoundExpected?: boolean;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Headers;
  /** Parsed JSON when the answer is JSON, its text otherwise, null when empty. */
  body: T;
  /** The service's own request id for this answer. */
  requestId?: string;
  globalRequestId: string;
}

export interface HttpOptions {
  logger: OpenStackLogger;
  retry: RetryPolicy;
  timeoutMs: number;
  fetch: FetchLike;
  /** Waits between tries; tests may pass an instant one. */
  sleep: (ms: number) => Promise<void>;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

export function newGlobalRequestId(): string {
  return `req-${randomUUID()}`;
}

/** The service's request id: Nova says x-compute-request-id, Swift x-trans-id, the others x-openstack-request-id. */
export function requestIdOf(headers: Headers): string | undefined {
  return (
    headers.get('x-openstack-request-id') ??
    headers.get('x-compute-request-id') ??
    headers.get('openstack-request-id') ??
    headers.get('x-trans-id') ??
    undefined
  );
}

/** Milliseconds a Retry-After header asks for (delta-seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * One OpenStack call: sends it with `X-OpenStack-Request-ID`, logs each try with the service's
 * request id, retries 409/429/503 (every method) and connection failures (idempotent methods
 * only) with backoff honouring Retry-After, and turns a final refusal into an OpenStackError.
 */
export async function send<T = unknown>(
  request: HttpRequest,
  options: HttpOptions,
): Promise<HttpResponse<T>> {
  const { logger, retry } = options;
  const globalRequestId = request.globalRequestId ?? newGlobalRequestId();
  const headers: Record<string, string> = {
    accept: 'application/json',
    'x-openstack-request-id': globalRequestId,
    ...request.headers,
  };
  let body: string | Uint8Array | undefined = request.body;
  if (request.json !== undefined) {
    body = JSON.stringify(request.json);
    headers['content-type'] ??= 'application/json';
  }
  const base = {
    service: request.service,
    method: request.method,
    url: request.url,
    globalRequestId,
  };
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    let response: Response;
    try {
      response = await options.fetch(request.url, {
        method: request.method,
        headers,
        // Node's fetch takes any Uint8Array; the DOM's types (a Next app's) want one over an ArrayBuffer.
        body: body as string | Uint8Array<ArrayBuffer> | undefined,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      const reason =
        (error as Error).name === 'TimeoutError'
          ? `no answer within ${options.timeoutMs} ms`
          : describeNetworkError(error);
      logger.warn(
        { ...base, attempt, ms: Date.now() - started, err: reason },
        'openstack request failed',
      );
      if (attempt < retry.attempts && IDEMPOTENT.has(request.method)) {
        await options.sleep(backoff(retry, attempt));
        continue;
      }
      throw new OpenStackError(
        { ...base, code: 'UNAVAILABLE', serviceMessage: reason },
        { cause: error },
      );
    }
    const requestId = requestIdOf(response.headers);
    const ms = Date.now() - started;
    if (response.ok) {
      const parsed =
        request.responseType === 'bytes'
          ? new Uint8Array(await response.arrayBuffer())
          : await readBody(response);
      logger.debug(
        { ...base, status: response.status, requestId, attempt, ms },
        'openstack request',
      );
      return {
        status: response.status,
        headers: response.headers,
        body: parsed as T,
        requestId,
        globalRequestId,
      };
    }
    const text = await response.text().catch(() => '');
    const { message, type } = parseErrorBody(text);
    const code = codeForStatus(response.status, message, type);
    const retryable = retry.statuses.includes(response.status) && code !== 'QUOTA';
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    const log = {
      ...base,
      status: response.status,
      requestId,
      attempt,
      ms,
      serviceMessage: message,
    };
    if (retryable && attempt < retry.attempts && (retryAfterMs ?? 0) <= retry.maxRetryAfterMs) {
      const delay = retryAfterMs ?? backoff(retry, attempt);
      logger.info({ ...log, retryInMs: delay }, 'openstack request refused, retrying');
      await options.sleep(delay);
      continue;
    }
    if (response.status === 404 && request.notFoundExpected)
      logger.debug(log, 'openstack request: not found');
    else logger.warn(log, 'openstack request refused');
    throw new OpenStackError({
      ...base,
      code,
      status: response.status,
      requestId,
      serviceMessage: message,
      serviceErrorType: type,
    });
  }
}

function backoff(retry: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

async function readBody(response: Response): Promise<unknown> {
  if (response.status === 204 || response.status === 304) return null;
  const text = await response.text();
  if (!text) return null;
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) return JSON.parse(text);
  return text;
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? `: ${cause.message}` : ''}`;
  return (error as Error).message ?? String(error);
}
