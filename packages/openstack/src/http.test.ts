// The request core against a local HTTP server: retries honouring Retry-After, the error bodies
// of each service, request ids, and each service's own microversion header. (The integration
// tests provoke what the real cloud can give: see openstack.integration.test.ts.)
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OpenStackError, parseErrorBody } from './errors';
import { parseRetryAfter } from './http';
import { KeystoneAuth } from './keystone';
import { getServer } from './nova';
import type { OpenStackLogger } from './logger';
import { OpenStackSession } from './session';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;
let handler: Handler;
const seen: { method: string; url: string; headers: http.IncomingHttpHeaders }[] = [];
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      if (req.url === '/v3/auth/tokens') return keystone(res);
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen.length = 0;
});

let tokenCount = 0;
let tokenLifetimeMs = 3600_000;
function keystone(res: http.ServerResponse) {
  tokenCount++;
  const endpoint = (type: string, path: string) => ({
    id: type,
    type,
    name: type,
    endpoints: [
      {
        id: `${type}-p`,
        interface: 'public',
        region: 'RegionOne',
        region_id: 'RegionOne',
        url: `${base}${path}`,
      },
    ],
  });
  res.writeHead(201, {
    'content-type': 'application/json',
    'x-subject-token': `tok-${tokenCount}`,
  });
  res.end(
    JSON.stringify({
      token: {
        issued_at: new Date().toISOString(),
        expires_at: new Date(Date.now() + tokenLifetimeMs).toISOString(),
        user: { id: 'u', name: 'admin' },
        project: { id: 'p', name: 'admin' },
        roles: [{ id: 'r', name: 'admin' }],
        catalog: [
          endpoint('compute', '/compute/v2.1'),
          endpoint('volumev3', '/volume/v3/p'),
          endpoint('network', '/network'),
        ],
      },
    }),
  );
}

function session(logger?: OpenStackLogger) {
  const sleeps: number[] = [];
  const s = new OpenStackSession({
    auth: new KeystoneAuth({
      authUrl: `${base}/v3`,
      credentials: { type: 'password', username: 'admin', password: 'x', projectName: 'admin' },
    }),
    logger,
    retry: { attempts: 4 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  return { s, sleeps };
}

function recorder() {
  const lines: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) =>
    lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return {
    lines,
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  };
}

describe('request core', () => {
  it('retries a 503 after the Retry-After it was given, then succeeds; the request id is logged', async () => {
    let calls = 0;
    handler = (_req, res) => {
      calls++;
      if (calls < 3) {
        res.writeHead(503, { 'retry-after': '2', 'x-openstack-request-id': `req-busy-${calls}` });
        return res.end('Service Unavailable');
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-compute-request-id': 'req-ok' });
      res.end(JSON.stringify({ flavors: [] }));
    };
    const { lines, logger } = recorder();
    const { s, sleeps } = session(logger);
    const res = await s.service('compute').request('GET', '/flavors');
    expect(res.body).toEqual({ flavors: [] });
    expect(res.requestId).toBe('req-ok');
    expect(sleeps).toEqual([2000, 2000]);
    const calls3 = seen.filter((r) => r.url.startsWith('/compute'));
    expect(calls3).toHaveLength(3);
    // one global request id for the logical call, on every try
    expect(new Set(calls3.map((r) => r.headers['x-openstack-request-id'])).size).toBe(1);
    expect(calls3[0]!.headers['x-openstack-request-id']).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(
      lines
        .filter((l) => l.msg === 'openstack request refused, retrying')
        .map((l) => l.obj.requestId),
    ).toEqual(['req-busy-1', 'req-busy-2']);
    expect(lines.find((l) => l.msg === 'openstack request')?.obj.requestId).toBe('req-ok');
  });

  it('backs off on a 409 without Retry-After and gives CONFLICT with the service message and request id', async () => {
    handler = (_req, res) => {
      res.writeHead(409, {
        'content-type': 'application/json',
        'x-compute-request-id': 'req-conflict',
      });
      res.end(
        JSON.stringify({
          conflictingRequest: {
            code: 409,
            message: "Cannot 'reboot' instance while it is in task_state rebooting",
          },
        }),
      );
    };
    const { s, sleeps } = session();
    const error = await s
      .service('compute')
      .request('POST', '/servers/x/action', { json: { reboot: { type: 'SOFT' } } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenStackError);
    expect(error).toMatchObject({
      code: 'CONFLICT',
      status: 409,
      requestId: 'req-conflict',
      serviceMessage: "Cannot 'reboot' instance while it is in task_state rebooting",
      serviceErrorType: 'conflictingRequest',
    });
    expect((error as Error).message).toContain('(request req-conflict)');
    expect(sleeps).toHaveLength(3);
    expect(sleeps[1]!).toBeGreaterThanOrEqual(sleeps[0]! / 2);
  });

  it("does not retry Neutron's quota 409 and calls it QUOTA", async () => {
    handler = (_req, res) => {
      res.writeHead(409, { 'content-type': 'application/json', 'x-openstack-request-id': 'req-q' });
      res.end(
        JSON.stringify({
          NeutronError: {
            type: 'OverQuota',
            message: "Quota exceeded for resources: ['security_group'].",
            detail: '',
          },
        }),
      );
    };
    const { s, sleeps } = session();
    await expect(
      s.service('network').post('/v2.0/security-groups', { security_group: { name: 'x' } }),
    ).rejects.toMatchObject({
      code: 'QUOTA',
      serviceErrorType: 'OverQuota',
      requestId: 'req-q',
    });
    expect(sleeps).toEqual([]);
  });

  it('logs an expected 404 (a server looked up after its delete) at debug, any other at warn', async () => {
    handler = (_req, res) => {
      res.writeHead(404, {
        'content-type': 'application/json',
        'x-compute-request-id': 'req-gone',
      });
      res.end(
        JSON.stringify({
          itemNotFound: { code: 404, message: 'Instance gone could not be found.' },
        }),
      );
    };
    const { lines, logger } = recorder();
    const { s } = session(logger);
    expect(await getServer(s, 'gone')).toBeNull();
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
    expect(lines.find((l) => l.msg === 'openstack request: not found')).toMatchObject({
      level: 'debug',
      obj: { status: 404, requestId: 'req-gone' },
    });

    // Where a 404 is not an answer the caller expects, it is still a refusal worth a warning.
    lines.length = 0;
    await expect(s.service('compute').post('/servers/gone/action', {})).rejects.toMatchObject({
      code: 'NOT_FOUND',
      requestId: 'req-gone',
    });
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      'openstack request refused',
    ]);
  });

  it('sends each service only its own microversion header', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    };
    const { s } = session();
    await s.service('compute', { microversion: '2.56' }).get('/servers');
    await s.service('block-storage', { microversion: '3.59' }).get('/volumes');
    await s.service('network').get('/v2.0/ports');
    const byPath = (p: string) =>
      seen.find((r) => r.url.startsWith(p))!.headers['openstack-api-version'];
    expect(byPath('/compute/v2.1/servers')).toBe('compute 2.56');
    expect(byPath('/volume/v3/p/volumes')).toBe('volume 3.59');
    expect(byPath('/network/v2.0/ports')).toBeUndefined();
  });

  it('renews the token once when a service answers 401', async () => {
    let first = true;
    handler = (req, res) => {
      if (first) {
        first = false;
        res.writeHead(401, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify({
            error: {
              code: 401,
              title: 'Unauthorized',
              message: 'The request you have made requires authentication.',
            },
          }),
        );
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: req.headers['x-auth-token'] }));
    };
    const { s } = session();
    const before = tokenCount;
    const body = await s.service('compute').get<{ token: string }>('/servers');
    expect(tokenCount).toBe(before + 2);
    expect(body.token).toBe(`tok-${before + 2}`);
  });
});

describe('token cache', () => {
  it('keeps a token shorter-lived than the renewal window for half its lifetime', async () => {
    tokenLifetimeMs = 60_000; // Keystone configured for one-minute tokens; the window is 5 min
    try {
      const auth = new KeystoneAuth({
        authUrl: base,
        credentials: { type: 'application_credential', id: 'ac', secret: 's' },
      });
      const first = await auth.token();
      expect(await auth.token()).toBe(first);
      expect(auth.issued).toBe(1);
    } finally {
      tokenLifetimeMs = 3600_000;
    }
  });

  it('sends an application credential by id, unscoped', async () => {
    let sent: unknown;
    const fetchSpy = async (input: string, init: RequestInit) => {
      if (input.endsWith('/auth/tokens')) sent = JSON.parse(String(init.body));
      return fetch(input, init);
    };
    await new KeystoneAuth({
      authUrl: base,
      credentials: { type: 'application_credential', id: 'ac', secret: 's' },
      fetch: fetchSpy,
    }).token();
    expect(sent).toEqual({
      auth: {
        identity: {
          methods: ['application_credential'],
          application_credential: { id: 'ac', secret: 's' },
        },
      },
    });
  });
});

describe('error bodies', () => {
  it.each([
    [
      'nova',
      '{"itemNotFound": {"code": 404, "message": "Instance x could not be found."}}',
      'Instance x could not be found.',
      'itemNotFound',
    ],
    [
      'neutron',
      '{"NeutronError": {"type": "SecurityGroupInUse", "message": "Security Group s in use.", "detail": ""}}',
      'Security Group s in use.',
      'SecurityGroupInUse',
    ],
    [
      'keystone',
      '{"error": {"code": 409, "title": "Conflict", "message": "Conflict occurred attempting to store project"}}',
      'Conflict occurred attempting to store project',
      'Conflict',
    ],
    [
      'placement',
      '{"errors": [{"status": 404, "title": "Not Found", "detail": "No resource provider", "request_id": "req-1"}]}',
      'No resource provider',
      'Not Found',
    ],
    [
      'glance',
      '<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1>No image found</body></html>',
      '404 Not Found 404 Not Found No image found',
      undefined,
    ],
  ])('%s', (_service, text, message, type) => {
    expect(parseErrorBody(text)).toEqual({ message, type });
  });

  it('Retry-After as seconds and as an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
