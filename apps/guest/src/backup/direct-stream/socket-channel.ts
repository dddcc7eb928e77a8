import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';

/**
 * The direct stream's data channel when one replica on the source's own host takes it (issue
 * 18): an abstract Unix socket, which the backup tool on the source writes into as its stdout
 * and the unpacker on the replica reads as its stdin. The bytes go from one process to the
 * other through the kernel, as in `mariadb-backup --stream | mbstream -x`; neither guest copies
 * them, and nothing encrypts them: they never leave this host's kernel, where only root (who
 * can read both datadirs anyway) could look at them.
 *
 * Authenticated both ways, with the snapshot's one-time key: the replica binds a random name
 * first and only then tells it to its source over their TLS-PSK connection (so the source
 * writes only to the replica that holds the key); the source's first 32 bytes on the socket
 * are HMAC-SHA256(key, name), and the replica hands no connection to its unpacker before that
 * proof checked out (others, e.g. a local process that read the name in /proc/net/unix, are
 * closed). The channel carries no end marker: the stream is whole only when the manifest came
 * over the guests' connection (sent once the tool exited 0) and the unpacker exited 0.
 */

export const PROOF_BYTES = 32;
/** The longest name a replica may answer with (an abstract name holds at most 107 bytes). */
export const MAX_CHANNEL_NAME_BYTES = 100;

/** What the source writes first on the channel: it holds the snapshot's key. */
export function channelProof(key: Buffer, name: string): Buffer {
  return createHmac('sha256', key).update(`coffer-direct-stream-channel:${name}`).digest();
}

/** True for a name a replica may answer with (what `listenForChannel` makes). */
export function isChannelName(name: string): boolean {
  return /^coffer-stream-[0-9a-f]{32}$/.test(name);
}

export interface ChannelListener {
  /** The abstract socket's name (without its leading NUL), told to the source. */
  name: string;
  /** The source's connection once its proof checked out, paused (for the unpacker's stdin). */
  connection: Promise<Socket>;
  /** Stops listening and drops a connection not handed over yet (idempotent). */
  stop(): void;
}

/** The file descriptor of a connected socket (to read its proof without reading further). */
function descriptorOf(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('the channel socket has no descriptor');
  return fd;
}

/**
 * Reads exactly PROOF_BYTES from the paused socket's descriptor (nothing after them: the
 * stream's first byte is the unpacker's), or null when they did not come by `deadline`.
 */
async function readProof(socket: Socket, deadline: number): Promise<Buffer | null> {
  const fd = descriptorOf(socket);
  const proof = Buffer.alloc(PROOF_BYTES);
  let got = 0;
  while (got < PROOF_BYTES) {
    let read = -1;
    try {
      read = readSync(fd, proof, got, PROOF_BYTES - got, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return null;
    }
    if (read === 0) return null;
    if (read > 0) {
      got += read;
      continue;
    }
    if (Date.now() > deadline || socket.destroyed) return null;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return proof;
}

/**
 * The replica's end: listens on a fresh abstract name; `connection` resolves with the first
 * connection that proves the key within `timeoutMs`, and rejects when none did (or `stop`).
 */
export async function listenForChannel(options: {
  key: Buffer;
  timeoutMs: number;
  onRefused?: (reason: string) => void;
}): Promise<ChannelListener> {
  const name = `coffer-stream-${randomBytes(16).toString('hex')}`;
  const expected = channelProof(options.key, name);
  const server = createServer({ pauseOnConnect: true });
  let settle: { resolve: (socket: Socket) => void; reject: (error: Error) => void } | null = null;
  const connection = new Promise<Socket>((resolve, reject) => {
    settle = { resolve, reject };
  });
  connection.catch(() => undefined);
  const pending = new Set<Socket>();
  const deadline = Date.now() + options.timeoutMs;
  const finish = (outcome: Socket | Error) => {
    const settled = settle;
    settle = null;
    clearTimeout(timer);
    if (server.listening) server.close();
    for (const socket of pending) if (socket !== outcome) socket.destroy();
    pending.clear();
    if (!settled) {
      if (!(outcome instanceof Error)) outcome.destroy();
      return;
    }
    if (outcome instanceof Error) settled.reject(outcome);
    else settled.resolve(outcome);
  };
  const timer = setTimeout(
    () => finish(new Error('the source did not open the data channel in time')),
    options.timeoutMs,
  );
  server.on('connection', (socket: Socket) => {
    if (!settle) return socket.destroy();
    pending.add(socket);
    socket.on('error', () => undefined);
    void readProof(socket, deadline).then(
      (proof) => {
        pending.delete(socket);
        if (proof && timingSafeEqual(proof, expected)) return finish(socket);
        options.onRefused?.('a connection to the data channel without the key was closed');
        socket.destroy();
      },
      (error: unknown) => {
        pending.delete(socket);
        socket.destroy();
        finish(error as Error);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: `\0${name}` }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => finish(error));
  return {
    name,
    connection,
    stop: () => finish(new Error('the data channel was closed')),
  };
}

/**
 * The source's end: connects to the replica's channel and sends its proof; resolves with the
 * socket once the proof is in the kernel, for the backup tool's stdout (the caller then drops
 * its own copy, so the replica reads the end of the stream when the tool exits).
 */
export async function connectChannel(options: {
  name: string;
  key: Buffer;
  timeoutMs: number;
}): Promise<Socket> {
  if (!isChannelName(options.name))
    throw new Error('the replica answered with a channel name that is not one');
  const socket = connect({ path: `\0${options.name}` });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.once('connect', () => {
          socket.pause();
          socket.write(channelProof(options.key, options.name), (error) =>
            error ? reject(error) : resolve(),
          );
        });
      }),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error('the data channel did not open in time')),
          options.timeoutMs,
        );
      }),
    ]);
    socket.on('error', () => undefined);
    return socket;
  } catch (error) {
    socket.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
