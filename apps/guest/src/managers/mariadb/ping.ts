import { createConnection } from 'node:net';

/**
 * Trove's `mysqladmin ping`, without credentials and with a hard timeout: connect to the
 * server's socket and wait for its greeting. A greeting (or an error packet, such as "too
 * many connections") means the server is up and answering; a frozen server accepts the
 * connection but never greets, and the timeout says so instead of hanging the heartbeat.
 */
export type PingResult =
  { isAlive: true; version: string | null } | { isAlive: false; reason: string };

export function pingServer(socketPath: string, timeoutMs: number): Promise<PingResult> {
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    let isSettled = false;
    const socket = createConnection({ path: socketPath });
    const finish = (result: PingResult) => {
      if (isSettled) return;
      isSettled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ isAlive: false, reason: `no greeting within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish({ isAlive: false, reason: error.code ?? error.message }),
    );
    socket.on('close', () => finish({ isAlive: false, reason: 'closed before the greeting' }));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length < 4) return;
      const length = buffer.readUIntLE(0, 3);
      if (buffer.length < 4 + length) return;
      finish({ isAlive: true, version: parseGreetingVersion(buffer.subarray(4, 4 + length)) });
    });
  });
}

/** The server version of a protocol-10 greeting, without MariaDB's "5.5.5-" compatibility prefix. */
export function parseGreetingVersion(payload: Buffer): string | null {
  if (payload[0] !== 0x0a) return null;
  const end = payload.indexOf(0, 1);
  if (end < 0) return null;
  return payload
    .subarray(1, end)
    .toString('latin1')
    .replace(/^5\.5\.5-/, '');
}
