import { OpenStackError } from './errors';
import { DEFAULT_RETRY, send, type FetchLike, type HttpOptions, type RetryPolicy } from './http';
import { silentLogger, type OpenStackLogger } from './logger';

/** How Coffer proves who it is to Keystone v3. */
export type KeystoneCredentials =
  | {
      type: 'password';
      /** A user by id, or by name within a domain (name or id; default domain `Default`). */
      userId?: string;
      username?: string;
      userDomainName?: string;
      userDomainId?: string;
      password: string;
      /** The project the token is scoped to, by id, or by name within a domain (default `Default`). */
      projectId?: string;
      projectName?: string;
      projectDomainName?: string;
      projectDomainId?: string;
    }
  | {
      /** An application credential: scoped to its own project; by id, or by name with its user. */
      type: 'application_credential';
      id?: string;
      name?: string;
      userId?: string;
      username?: string;
      userDomainName?: string;
      secret: string;
    };

export type EndpointInterface = 'public' | 'internal' | 'admin';

export interface CatalogEndpoint {
  id: string;
  interface: EndpointInterface;
  region: string;
  region_id: string;
  url: string;
}

export interface CatalogService {
  id: string;
  type: string;
  name: string;
  endpoints: CatalogEndpoint[];
}

export interface Token {
  /** The token itself (`X-Subject-Token`): a secret, never logged. */
  id: string;
  issuedAt: Date;
  expiresAt: Date;
  user: { id: string; name: string };
  project?: { id: string; name: string };
  roles: string[];
  catalog: CatalogService[];
}

export interface KeystoneAuthOptions {
  /** Keystone's v3 URL, e.g. `http://127.0.0.1:5000/v3` (`/v3` is added when missing). */
  authUrl: string;
  credentials: KeystoneCredentials;
  /** A cached token is renewed when it expires within this (default 5 min). */
  renewBeforeMs?: number;
  logger?: OpenStackLogger;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  fetch?: FetchLike;
  /** The clock the cache compares expiry against (tests). */
  now?: () => number;
}

/** Other names a service type goes by in real catalogs (Cinder's most of all). */
const TYPE_ALIASES: Record<string, string[]> = {
  'block-storage': ['block-storage', 'volumev3', 'volume'],
  volumev3: ['volumev3', 'block-storage', 'volume'],
  volume: ['volume', 'block-storage', 'volumev3'],
};

/**
 * Keystone v3 authentication with a token cache: one token shared by every caller, renewed
 * before it expires (`renewBeforeMs`) or when a service refused it (`invalidate`), with one
 * authentication in flight at a time.
 */
export class KeystoneAuth {
  readonly authUrl: string;
  private readonly credentials: KeystoneCredentials;
  private readonly renewBeforeMs: number;
  private readonly http: HttpOptions;
  private readonly now: () => number;
  private cached: Token | undefined;
  private inflight: Promise<Token> | undefined;
  /** How many tokens this has obtained (tests and logs). */
  issued = 0;

  constructor(options: KeystoneAuthOptions) {
    const url = options.authUrl.replace(/\/+$/, '');
    this.authUrl = /\/v3$/.test(url) ? url : `${url}/v3`;
    this.credentials = options.credentials;
    this.renewBeforeMs = options.renewBeforeMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
    this.http = {
      logger: options.logger ?? silentLogger,
      retry: { ...DEFAULT_RETRY, ...options.retry },
      timeoutMs: options.timeoutMs ?? 30_000,
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    };
  }

  /**
   * A token valid for at least `renewBeforeMs` more (or half its lifetime, when Keystone gives
   * shorter-lived tokens than that), from the cache or freshly issued.
   */
  async token(): Promise<Token> {
    const cached = this.cached;
    if (cached) {
      const lifetime = cached.expiresAt.getTime() - cached.issuedAt.getTime();
      const window = Math.min(this.renewBeforeMs, lifetime / 2);
      if (cached.expiresAt.getTime() - this.now() > window) return cached;
    }
    this.inflight ??= this.authenticate().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Forgets `tokenId` if it is the cached one (a service answered 401 to it). */
  invalidate(tokenId: string): void {
    if (this.cached?.id === tokenId) this.cached = undefined;
  }

  /** The URL of `serviceType` in the current token's catalog. */
  async endpoint(
    serviceType: string,
    options: { region?: string; interface?: EndpointInterface } = {},
  ): Promise<string> {
    return findEndpoint((await this.token()).catalog, serviceType, options);
  }

  private async authenticate(): Promise<Token> {
    const started = this.now();
    const response = await send<{ token: RawToken }>(
      {
        service: 'identity',
        method: 'POST',
        url: `${this.authUrl}/auth/tokens`,
        json: { auth: authBody(this.credentials) },
      },
      this.http,
    );
    const subject = response.headers.get('x-subject-token');
    if (!subject)
      throw new OpenStackError({
        code: 'UNAVAILABLE',
        service: 'identity',
        method: 'POST',
        url: `${this.authUrl}/auth/tokens`,
        status: response.status,
        requestId: response.requestId,
        globalRequestId: response.globalRequestId,
        serviceMessage: 'Keystone issued no X-Subject-Token',
      });
    const raw = response.body.token;
    const token: Token = {
      id: subject,
      issuedAt: new Date(raw.issued_at),
      expiresAt: new Date(raw.expires_at),
      user: { id: raw.user.id, name: raw.user.name },
      project: raw.project ? { id: raw.project.id, name: raw.project.name } : undefined,
      roles: (raw.roles ?? []).map((role) => role.name),
      catalog: raw.catalog ?? [],
    };
    this.cached = token;
    this.issued++;
    this.http.logger.info(
      {
        service: 'identity',
        requestId: response.requestId,
        user: token.user.name,
        project: token.project?.name,
        expiresAt: token.expiresAt.toISOString(),
        ms: this.now() - started,
      },
      'openstack token issued',
    );
    return token;
  }
}

interface RawToken {
  issued_at: string;
  expires_at: string;
  user: { id: string; name: string };
  project?: { id: string; name: string };
  roles?: { id: string; name: string }[];
  catalog?: CatalogService[];
}

function userOf(c: {
  userId?: string;
  username?: string;
  userDomainName?: string;
  userDomainId?: string;
}) {
  if (c.userId) return { id: c.userId };
  if (!c.username) throw new TypeError('Keystone credentials need userId or username');
  return {
    name: c.username,
    domain: c.userDomainId ? { id: c.userDomainId } : { name: c.userDomainName ?? 'Default' },
  };
}

function authBody(c: KeystoneCredentials): object {
  if (c.type === 'application_credential') {
    const credential = c.id
      ? { id: c.id, secret: c.secret }
      : { name: c.name, secret: c.secret, user: userOf(c) };
    return {
      identity: { methods: ['application_credential'], application_credential: credential },
    };
  }
  const identity = {
    methods: ['password'],
    password: { user: { ...userOf(c), password: c.password } },
  };
  if (c.projectId) return { identity, scope: { project: { id: c.projectId } } };
  if (c.projectName)
    return {
      identity,
      scope: {
        project: {
          name: c.projectName,
          domain: c.projectDomainId
            ? { id: c.projectDomainId }
            : { name: c.projectDomainName ?? 'Default' },
        },
      },
    };
  return { identity };
}

/**
 * The endpoint URL of `serviceType` (or one of its aliases) for an interface (default public)
 * and region; without a region there must be only one. Throws OpenStackError UNAVAILABLE.
 */
export function findEndpoint(
  catalog: CatalogService[],
  serviceType: string,
  options: { region?: string; interface?: EndpointInterface } = {},
): string {
  const wanted = options.interface ?? 'public';
  const fail = (message: string) =>
    new OpenStackError({
      code: 'UNAVAILABLE',
      service: serviceType,
      method: 'CATALOG',
      url: serviceType,
      serviceMessage: message,
    });
  for (const type of TYPE_ALIASES[serviceType] ?? [serviceType]) {
    const service = catalog.find((s) => s.type === type);
    if (!service) continue;
    const matching = service.endpoints.filter(
      (e) =>
        e.interface === wanted &&
        (options.region === undefined ||
          e.region_id === options.region ||
          e.region === options.region),
    );
    const regions = new Set(matching.map((e) => e.region_id ?? e.region));
    if (regions.size > 1)
      throw fail(
        `${type} has ${wanted} endpoints in several regions (${[...regions].join(', ')}): name one`,
      );
    if (matching[0]) return matching[0].url.replace(/\/+$/, '');
    throw fail(
      `the catalog's ${type} service has no ${wanted} endpoint${options.region ? ` in region ${options.region}` : ''}`,
    );
  }
  throw fail(`the catalog has no ${serviceType} service`);
}
