import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { GUEST_ADMIN_USER } from '@coffer/contracts';
import type * as Mysql from 'mysql2/promise';
import { type Connection } from 'mysql2/promise';

import { writeFileAtomic } from '@coffer/host';
import { type MariadbLayout } from './layout';
import { type PingResult } from './ping';

/**
 * The guest's own account on its server, `coffer_admin`@`localhost` (Trove's os_admin).
 *
 * Why a password and not `IDENTIFIED VIA unix_socket`: unix_socket maps the OS user to the
 * account *of the same name*, so it would need an OS user called coffer_admin on every
 * machine the guest runs on. Instead the account has a random 256-bit password, kept in a
 * client option file (0600, root's) in the guest's config dir, next to the secret it
 * already guards; the account is @localhost and the server runs with skip-name-resolve,
 * so it is reachable through the socket only, never over TCP. If the file is lost, the
 * guest re-creates the password through root's unix_socket account, which only OS root
 * can use.
 */

export interface AdminCredentials {
  user: string;
  password: string;
}

const CONNECT_TIMEOUT_MS = 10_000;

export function readAdminCredentials(layout: MariadbLayout): AdminCredentials | null {
  let text: string;
  try {
    text = readFileSync(layout.adminCnf, 'utf8');
  } catch {
    return null;
  }
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\s*([a-z_-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match?.[1] && match[2] !== undefined) values.set(match[1], match[2]);
  }
  const user = values.get('user');
  const password = values.get('password');
  return user && password ? { user, password } : null;
}

/** Reads the admin credentials, making (and storing) a new password when there is none. */
export function ensureAdminCredentials(layout: MariadbLayout): {
  credentials: AdminCredentials;
  isNew: boolean;
} {
  const existing = readAdminCredentials(layout);
  if (existing) return { credentials: existing, isNew: false };
  const credentials = { user: GUEST_ADMIN_USER, password: randomBytes(32).toString('hex') };
  writeFileAtomic(
    layout.adminCnf,
    [
      "# The Coffer guest's own account on its database server. Keep it 0600.",
      '[client]',
      `user = ${credentials.user}`,
      `password = ${credentials.password}`,
      `socket = ${layout.socket}`,
      '',
    ].join('\n'),
    0o600,
  );
  return { credentials, isNew: true };
}

/**
 * The guest sends only plain queries (no `execute`): one slot for prepared statements, not
 * mysql2's 16000, whose cache (four 16000-element arrays, ~0.5 MB, filled at once) every
 * connection allocated: with the guest's 1 MB young generation that was a scavenge every
 * other connection, and a heartbeat's ping is a connection.
 */
const NO_PREPARED_STATEMENTS = 1;

async function loadDriver(): Promise<typeof Mysql> {
  // Loaded on first use: an idle guest that never talks SQL does not pay for the driver.
  // mysql2 is CommonJS: as a split chunk of the bundle its API arrives as the default export.
  const driver = (await import('mysql2/promise')) as typeof Mysql & { default?: typeof Mysql };
  return typeof driver.createConnection === 'function' ? driver : driver.default!;
}

/** A connection over the server's socket as `user` (with `password`, or by unix_socket when none). */
export async function connectOverSocket(
  layout: MariadbLayout,
  user: string,
  password?: string,
): Promise<Connection> {
  const mysql = await loadDriver();
  return mysql.createConnection({
    socketPath: layout.socket,
    user,
    password,
    connectTimeout: CONNECT_TIMEOUT_MS,
    multipleStatements: false,
    supportBigNumbers: true,
    maxPreparedStatements: NO_PREPARED_STATEMENTS,
  });
}

/**
 * Trove's `mysqladmin ping` as the guest's account: connect, COM_PING, quit, all within
 * `timeoutMs` (a frozen server must not hang the heartbeat). "Access denied" still means
 * the server answers. A clean COM_QUIT keeps the server's error log free of aborted
 * connections, which a bare greeting check would add on every beat.
 */
export async function pingAsAdmin(
  layout: MariadbLayout,
  credentials: AdminCredentials,
  timeoutMs: number,
): Promise<PingResult> {
  const mysql = await loadDriver();
  const deadline = Date.now() + timeoutMs;
  let connection: Connection | null = null;
  const attempt = (async (): Promise<PingResult> => {
    try {
      connection = await mysql.createConnection({
        socketPath: layout.socket,
        user: credentials.user,
        password: credentials.password,
        connectTimeout: Math.max(100, timeoutMs),
        maxPreparedStatements: NO_PREPARED_STATEMENTS,
      });
      await connection.ping();
      await connection.end();
      return { isAlive: true, version: null };
    } catch (error) {
      if (isAccessDenied(error)) return { isAlive: true, version: null };
      return {
        isAlive: false,
        reason: (error as { code?: string }).code ?? (error as Error).message,
      };
    }
  })();
  const timeout = new Promise<PingResult>((resolve) => {
    const timer = setTimeout(
      () => resolve({ isAlive: false, reason: `no answer within ${timeoutMs} ms` }),
      Math.max(0, deadline - Date.now()),
    );
    void attempt.finally(() => clearTimeout(timer));
  });
  const result = await Promise.race([attempt, timeout]);
  if (!result.isAlive) (connection as Connection | null)?.destroy();
  return result;
}

/** True for "access denied" (wrong or missing credentials), as opposed to a server that is down. */
export function isAccessDenied(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR';
}
