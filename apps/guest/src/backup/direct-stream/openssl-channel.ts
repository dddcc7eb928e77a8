import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type Readable, type Writable } from 'node:stream';

import { executableDirs, findExecutable } from '../../lib/find-executable';
import { startTool, ToolFailedError, type Tool } from '../child-processes';

/**
 * The direct stream's data channel when one replica takes it (issue 18): the backup tool's
 * stdout goes straight into `openssl s_client` on the source, and `openssl s_server` on the
 * replica writes straight into `mbstream`'s stdin; the guests only set it up and judge how it
 * ended. TLS 1.3 with an external pre-shared key (the snapshot's one-time key, written as a
 * PEM SSL_SESSION in a 0600 file of a private dir, removed as soon as the tool is gone: never
 * on a command line), TLS_AES_256_GCM_SHA384, no certificate: a peer without the key fails
 * the handshake and neither sends nor receives a byte.
 *
 * The replica listens (it only reads: OpenSSL's `s_server` as a sender blocks for good on a
 * read of a record that is not data, and with `-nbio` spins); the source connects to it. A
 * stream ends properly only with TLS's authenticated close (close_notify): `s_server` exits 0
 * either way, so an end without it (the source died) is read from its stderr ("unexpected
 * eof"); the manifest still comes over the guests' own TLS-PSK connection, sent only once
 * the tool and `s_client` both exited 0.
 */

const CIPHERSUITE = 'TLS_AES_256_GCM_SHA384';
const TLS13_VERSION = 0x0304;
const AES_256_GCM_SHA384 = [0x13, 0x02];

/** The openssl program on `path` (a PATH) or in the usual dirs, or null (the data then stays in frames). */
export function findOpenssl(path: string): string | null {
  return findExecutable(['openssl'], executableDirs({ path }, ['/usr/bin', '/usr/local/bin']));
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function der(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

function derInteger(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  do {
    bytes.unshift(rest & 0xff);
    rest = Math.floor(rest / 256);
  } while (rest > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return der(0x02, Buffer.from(bytes));
}

/**
 * An SSL_SESSION (OpenSSL's ASN.1 form, as `-psk_session` reads it) holding `key` as a TLS 1.3
 * external PSK for TLS_AES_256_GCM_SHA384: version 1, protocol, cipher, empty session id, the
 * key, [1] start time, [2] timeout.
 */
export function pskSessionPem(key: Buffer, now = Date.now()): string {
  const body = Buffer.concat([
    derInteger(1),
    derInteger(TLS13_VERSION),
    der(0x04, Buffer.from(AES_256_GCM_SHA384)),
    der(0x04, Buffer.alloc(0)),
    der(0x04, key),
    der(0xa1, derInteger(Math.floor(now / 1000))),
    der(0xa2, derInteger(24 * 3600)),
  ]);
  const base64 = der(0x30, body).toString('base64');
  const lines = base64.match(/.{1,64}/g)!.join('\n');
  return `-----BEGIN SSL SESSION PARAMETERS-----\n${lines}\n-----END SSL SESSION PARAMETERS-----\n`;
}

/** Writes the key's session file (0600) in `privateDir` (the caller's, 0700); returns its path. */
function writeSessionFile(privateDir: string, key: Buffer): string {
  const path = join(privateDir, `.stream-psk-${randomBytes(8).toString('hex')}.pem`);
  writeFileSync(path, pskSessionPem(key), { mode: 0o600, flag: 'wx' });
  return path;
}

function tlsArgs(sessionFile: string, identity: string): string[] {
  return [
    '-tls1_3',
    '-ciphersuites',
    CIPHERSUITE,
    '-psk_session',
    sessionFile,
    '-psk_identity',
    identity,
    '-quiet',
  ];
}

/** A free TCP port on `host` (asked of the system, then released for `s_server`). */
async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The socket inodes process `pid` holds. */
function socketInodes(pid: number | undefined): Set<string> {
  const inodes = new Set<string>();
  if (pid === undefined) return inodes;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodes.add(match[1]!);
      } catch {
        // Closed meanwhile.
      }
    }
  } catch {
    // Gone.
  }
  return inodes;
}

/** True once process `pid` listens on `port` (TCP, this network namespace): not another one. */
function isListening(port: number, pid: number | undefined): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const inodes = socketInodes(pid);
  if (inodes.size === 0) return false;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st ... inode: st 0A is LISTEN.
      if (fields[3] === '0A' && `${fields[1]} `.includes(hex) && inodes.has(fields[9] ?? ''))
        return true;
    }
  }
  return false;
}

export interface ChannelReceiver {
  port: number;
  tool: Tool;
  /** Resolves once the sender closed the channel properly; rejects when it did not. */
  done: Promise<void>;
  stop(): void;
}

/**
 * The replica's end: `openssl s_server` on a free port of `host`, accepting one connection,
 * writing what it receives straight into `output` (the unpacker's stdin). Resolves once it
 * listens; `done` tells how the channel ended.
 */
export async function listenForChannel(options: {
  openssl: string;
  /** The tools' PATH (their environment). */
  path: string;
  host: string;
  key: Buffer;
  identity: string;
  output: Writable;
  privateDir: string;
  readyTimeoutMs?: number;
}): Promise<ChannelReceiver> {
  const port = await freePort(options.host);
  const sessionFile = writeSessionFile(options.privateDir, options.key);
  const accept = options.host.includes(':')
    ? `[${options.host}]:${port}`
    : `${options.host}:${port}`;
  let tool: Tool | null = null;
  try {
    // stdin: a pipe never written, held by this guest: s_server also watches its stdin and
    // ends when it closes (`-no_ign_eof`): the guest died, no s_server is left behind.
    tool = startTool(
      'openssl s_server',
      options.openssl,
      [
        's_server',
        '-accept',
        accept,
        '-naccept',
        '1',
        '-nocert',
        '-num_tickets',
        '0',
        ...tlsArgs(sessionFile, options.identity),
        '-no_ign_eof',
      ],
      { stdio: ['pipe', options.output, 'pipe'], env: { PATH: options.path } },
    );
    const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
    while (!isListening(port, tool.child.pid)) {
      if (tool.child.exitCode !== null || tool.child.signalCode !== null)
        throw new Error(`openssl s_server stopped before it listened: ${tool.stderrTail().trim()}`);
      if (Date.now() > deadline) throw new Error('openssl s_server did not listen in time');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } catch (error) {
    tool?.stop();
    throw error;
  } finally {
    // s_server reads it before it listens: not needed on disk any more, whatever happened.
    rmSync(sessionFile, { force: true });
  }
  const started: Tool = tool;
  const done = started.done.then(() => {
    const stderr = started.stderrTail();
    // s_server exits 0 even when the handshake failed or the peer went without close_notify.
    if (/unexpected eof/i.test(stderr))
      throw new Error('the data channel was cut before its end (no TLS close)');
    if (/\berror\b|ERROR/.test(stderr))
      throw new Error(`the data channel failed: ${stderr.trim().split('\n').slice(-3).join(' ')}`);
  });
  done.catch(() => undefined);
  return {
    port,
    tool: started,
    done,
    stop: () => started.stop(),
  };
}

/**
 * The source's end: `openssl s_client` to the replica's channel, its stdin the tool's stdout
 * (`input`, not read by the guest); resolves once it sent everything and closed the channel
 * (close_notify), rejects when it failed.
 */
export function sendOverChannel(options: {
  openssl: string;
  /** The tools' PATH (their environment). */
  path: string;
  host: string;
  port: number;
  key: Buffer;
  identity: string;
  input: Readable;
  privateDir: string;
  running?: Set<Tool>;
}): Promise<void> {
  const sessionFile = writeSessionFile(options.privateDir, options.key);
  const connect = options.host.includes(':')
    ? `[${options.host}]:${options.port}`
    : `${options.host}:${options.port}`;
  let tool: Tool;
  try {
    tool = startTool(
      'openssl s_client',
      options.openssl,
      [
        's_client',
        '-connect',
        connect,
        ...tlsArgs(sessionFile, options.identity),
        // Its stdin's end ends the channel (close_notify); no command letters in the data.
        '-no_ign_eof',
        '-nocommands',
      ],
      { stdio: [options.input, 'ignore', 'pipe'], env: { PATH: options.path } },
    );
  } catch (error) {
    rmSync(sessionFile, { force: true });
    throw error;
  }
  options.running?.add(tool);
  return tool.done.then(
    () => {
      rmSync(sessionFile, { force: true });
      const stderr = tool.stderrTail();
      if (/\berror:/.test(stderr))
        throw new ToolFailedError('openssl s_client', 'the data channel failed', stderr.trim());
    },
    (error: unknown) => {
      rmSync(sessionFile, { force: true });
      throw error;
    },
  );
}
