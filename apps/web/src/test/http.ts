import {
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo } from 'node:net';
import { randomInt } from 'node:crypto';

import pino from 'pino';

import { createConsoleServer } from '~/server/http/console-server';

type RouteHandler = (request: Request) => Promise<Response>;

/**
 * Route handlers called the way Next.js calls them: a Request whose headers are the Node
 * request's (after the console server's edge) and whose body is the Node request itself,
 * streamed; the Response written back with its status, headers and body.
 */
function nodeHandlerOf(routes: Record<string, RouteHandler>) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    const route = Object.entries(routes).find(([prefix]) => url.pathname.startsWith(prefix))?.[1];
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value])
        headers.append(name, item);
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const response = await route(
      new Request(url, {
        method: req.method,
        headers,
        body: hasBody ? (req as unknown as BodyInit) : undefined,
        duplex: 'half',
      } as RequestInit),
    );
    const outgoing: Record<string, string | string[]> = {};
    response.headers.forEach((value, name) => {
      if (name !== 'set-cookie') outgoing[name] = value;
    });
    const cookies = response.headers.getSetCookie();
    if (cookies.length > 0) outgoing['set-cookie'] = cookies;
    res.writeHead(response.status, outgoing);
    if (response.body) {
      const reader = response.body.getReader();
      for (let read = await reader.read(); !read.done; read = await reader.read())
        res.write(read.value);
    }
    res.end();
  };
}

export interface TestConsoleServer {
  server: Server;
  port: number;
  close: () => Promise<void>;
}

/** The console's real server (its edge included) on a free loopback port, serving `routes`. */
export async function startConsoleServer(
  routes: Record<string, RouteHandler>,
  options: { trustedProxies?: string[]; onResponse?: (req: IncomingMessage) => void } = {},
): Promise<TestConsoleServer> {
  const handle = nodeHandlerOf(routes);
  const server = createConsoleServer(
    async (req, res) => {
      res.on('finish', () => options.onResponse?.(req));
      await handle(req, res);
    },
    { trustedProxies: options.trustedProxies ?? [], logger: pino({ level: 'silent' }) },
  );
  return listen(server);
}

async function listen(server: Server): Promise<TestConsoleServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A reverse proxy as nginx's `proxy_add_x_forwarded_for` makes one: it appends the address its
 * client connected from to X-Forwarded-For and connects onward from `fromAddress`.
 */
export async function startForwardingProxy(
  target: { port: number },
  fromAddress: string,
): Promise<TestConsoleServer> {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    const previous = req.headers['x-forwarded-for'];
    const forwardedFor = [previous, req.socket.remoteAddress].filter(Boolean).join(', ');
    const upstream = httpRequest(
      {
        host: '127.0.0.1',
        port: target.port,
        localAddress: fromAddress,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'x-forwarded-for': forwardedFor },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return listen(server);
}

/** A loopback address of its own (127.0.0.0/8 is all local on Linux), so counters never meet. */
export function freshLoopbackAddress(): string {
  return `127.${randomInt(1, 255)}.${randomInt(256)}.${randomInt(1, 255)}`;
}

/** One HTTP request from `fromAddress` to a local port; the status, headers and body text. */
export function requestFrom(
  fromAddress: string,
  port: number,
  options: { method: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: IncomingMessage['headers']; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        localAddress: fromAddress,
        method: options.method,
        path: options.path,
        headers: options.headers,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
