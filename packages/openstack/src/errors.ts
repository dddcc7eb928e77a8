/**
 * What went wrong with an OpenStack call, as a code callers switch on. The compute provider maps
 * these onto `ComputeError` codes (NOT_FOUND, QUOTA, INVALID and UNAVAILABLE share their names).
 */
export type OpenStackErrorCode =
  /** 400, 413 without quota, 422: the request is wrong as given. */
  | 'INVALID'
  /** 401 after one renewal of the token, or refused credentials. */
  | 'UNAUTHORIZED'
  /** 403 that is not a quota refusal: a policy forbids it. */
  | 'FORBIDDEN'
  /** 404: no such resource (or not visible to this project). */
  | 'NOT_FOUND'
  /** 409 still there after the retries: the resource is busy or the request conflicts. */
  | 'CONFLICT'
  /** The cloud's quota refused it (Nova 403/413, Cinder 413, Neutron 409 OverQuota). */
  | 'QUOTA'
  /** 5xx or 429 after the retries, a network failure, a timeout, or no endpoint in the catalog. */
  | 'UNAVAILABLE';

export interface OpenStackErrorDetails {
  code: OpenStackErrorCode;
  /** Catalog service type, e.g. `compute`, `volumev3`, `identity`. */
  service: string;
  method: string;
  /** The URL asked (never a credential: tokens travel in headers). */
  url: string;
  /** HTTP status, absent for a network failure or timeout. */
  status?: number;
  /** The service's own request id (`x-openstack-request-id`, `x-compute-request-id`, Swift's `x-trans-id`). */
  requestId?: string;
  /** The id Coffer sent as `X-OpenStack-Request-ID` (the global request id, in every service's log). */
  globalRequestId?: string;
  /** The service's own message, from whichever error body shape it uses. */
  serviceMessage: string;
  /** Neutron's error type (`OverQuota`, `SecurityGroupInUse`…) or Nova's fault key (`itemNotFound`…). */
  serviceErrorType?: string;
}

export class OpenStackError extends Error {
  readonly code: OpenStackErrorCode;
  readonly service: string;
  readonly method: string;
  readonly url: string;
  readonly status?: number;
  readonly requestId?: string;
  readonly globalRequestId?: string;
  readonly serviceMessage: string;
  readonly serviceErrorType?: string;

  constructor(details: OpenStackErrorDetails, options?: ErrorOptions) {
    const where = `${details.method} ${details.service} ${pathOf(details.url)}`;
    const status = details.status === undefined ? '' : ` ${details.status}`;
    const id = details.requestId ?? details.globalRequestId;
    super(`${where}:${status} ${details.serviceMessage}${id ? ` (request ${id})` : ''}`, options);
    this.name = 'OpenStackError';
    this.code = details.code;
    this.service = details.service;
    this.method = details.method;
    this.url = details.url;
    this.status = details.status;
    this.requestId = details.requestId;
    this.globalRequestId = details.globalRequestId;
    this.serviceMessage = details.serviceMessage;
    this.serviceErrorType = details.serviceErrorType;
  }
}

/** True when `error` is an OpenStackError with `code`. */
export function isOpenStackError(
  error: unknown,
  code?: OpenStackErrorCode,
): error is OpenStackError {
  return error instanceof OpenStackError && (code === undefined || error.code === code);
}

function pathOf(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname + u.search;
  } catch {
    return url;
  }
}

const QUOTA_TEXT = /quota|limit exceeded|exceeded.*limit|maximum number of/i;

/**
 * The service's message and error type from an error body. OpenStack services disagree on the
 * shape: Nova and Cinder `{"itemNotFound": {"message", "code"}}`, Neutron
 * `{"NeutronError": {"type", "message"}}`, Keystone `{"error": {"message", "title"}}`, Placement
 * `{"errors": [{"detail", "title"}]}`, Glance and Swift HTML or plain text.
 */
export function parseErrorBody(text: string): { message: string; type?: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const body = JSON.parse(trimmed) as Record<string, unknown>;
      const neutron = body.NeutronError as { type?: string; message?: string } | undefined;
      if (neutron?.message) return { message: neutron.message, type: neutron.type };
      const errors = body.errors as
        { detail?: string; title?: string; code?: string }[] | undefined;
      if (Array.isArray(errors) && errors[0])
        return {
          message: errors[0].detail ?? errors[0].title ?? trimmed,
          type: errors[0].code ?? errors[0].title,
        };
      const keystone = body.error as { message?: string; title?: string } | undefined;
      if (keystone && typeof keystone === 'object' && keystone.message)
        return { message: keystone.message, type: keystone.title };
      if (typeof body.message === 'string') return { message: body.message };
      for (const [key, value] of Object.entries(body)) {
        if (
          value &&
          typeof value === 'object' &&
          typeof (value as { message?: unknown }).message === 'string'
        )
          return { message: (value as { message: string }).message, type: key };
      }
    } catch {
      // not JSON after all: fall through to text
    }
  }
  const plain = trimmed
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return { message: plain.slice(0, 500) || '(empty body)' };
}

/** The code for an HTTP error answer. */
export function codeForStatus(status: number, message: string, type?: string): OpenStackErrorCode {
  const quota = type === 'OverQuota' || type === 'overLimit' || QUOTA_TEXT.test(message);
  if (status === 400 || status === 422) return 'INVALID';
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return quota ? 'QUOTA' : 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return quota ? 'QUOTA' : 'CONFLICT';
  if (status === 413) return quota ? 'QUOTA' : 'INVALID';
  if (status === 429 || status >= 500) return 'UNAVAILABLE';
  return 'INVALID';
}
