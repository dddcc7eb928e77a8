import { once } from 'node:events';
import { createServer, type Server, type TLSSocket } from 'node:tls';

import { type Logger } from 'pino';

import {
  CHANNEL_FRAME,
  collectYoung,
  DATA_FRAME,
  frameHeader,
  LATE_FRAME,
  MANIFEST_FRAME,
  CHANNEL_NAME_FRAME,
  YOUNG_COLLECTION_BYTES,
} from './frames';
import { isChannelName, MAX_CHANNEL_NAME_BYTES } from './socket-channel';
import { serverTlsOptions } from './tls-psk';

/**
 * What may wait in a replica's socket before the stream waits for it: little, so that the
 * pieces die young (frames.ts, YOUNG_COLLECTION_BYTES); 4 MiB kept the source's heap in
 * full collections (62 mark-compacts per GB against 4).
 */
const QUEUED_BYTES = 256 * 1024;

/**
 * The source guest's end of a replica's direct stream: it listens (TLS-PSK) for the
 * replicas of one snapshot, takes no more once they are all there (or the window is over:
 * a latecomer is told so), then sends the same stream to every one of them, going at the pace of the slowest. A
 * replica that goes away midway is dropped (its own build fails); when none is left the
 * stream fails. Nothing stays open after `close`.
 */
export class StreamServer {
  private readonly clients = new Set<TLSSocket>();
  private isAccepting = true;
  private sentSinceCollection = 0;
  private joined: () => void = () => undefined;
  /** What each replica sent (it sends only its `P` answer, 9 bytes). */
  private readonly replies = new Map<TLSSocket, Buffer>();
  private replied: () => void = () => undefined;

  private constructor(
    private readonly server: Server,
    private readonly logger: Logger,
  ) {}

  static async listen(options: {
    host: string;
    port: number;
    key: Buffer;
    identity: string;
    logger: Logger;
  }): Promise<StreamServer> {
    const tlsServer = createServer(serverTlsOptions(options.key, options.identity));
    const stream = new StreamServer(tlsServer, options.logger);
    tlsServer.on('secureConnection', (socket) => stream.accept(socket));
    tlsServer.on('tlsClientError', (error) =>
      options.logger.warn({ err: error }, 'a peer without the stream key was refused'),
    );
    tlsServer.listen(options.port, options.host);
    await Promise.race([
      once(tlsServer, 'listening'),
      once(tlsServer, 'error').then(([error]) => {
        throw error as Error;
      }),
    ]);
    tlsServer.on('error', (error) => options.logger.warn({ err: error }, 'stream server error'));
    return stream;
  }

  /** The port it listens on (the one asked for, or the one the system gave for 0). */
  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  get connected(): number {
    return this.clients.size;
  }

  /**
   * Waits until `count` replicas are connected or `windowMs` is over, and says how many came.
   * It listens on until `close`: one that comes later is told it is too late (`L`).
   */
  async gather(count: number, windowMs: number, signal?: AbortSignal): Promise<number> {
    if (this.clients.size < count) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, windowMs);
        const stop = () => {
          clearTimeout(timer);
          resolve();
        };
        signal?.addEventListener('abort', stop, { once: true });
        this.joined = () => {
          if (this.clients.size >= count) stop();
        };
      });
    }
    this.stopAccepting();
    return this.clients.size;
  }

  /**
   * With one replica on this host: offers it the socket channel (CHANNEL_FRAME) and waits for
   * its answer. Returns the channel's name, or null when it takes the data in frames (it
   * answered so, or it is on another host).
   */
  async offerChannel(timeoutMs: number, signal?: AbortSignal): Promise<string | null> {
    const [socket] = [...this.clients];
    if (this.clients.size !== 1 || !socket) throw new Error('a channel is for one replica only');
    // An IPv4 peer of a dual-stack listener shows as ::ffff:a.b.c.d: its IPv4 address.
    const host = socket.remoteAddress!.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
    // A socket channel is for two guests of one host (one kernel): one on another host
    // takes the data in frames, over TLS.
    if (!isLoopbackAddress(host)) return null;
    socket.write(frameHeader(CHANNEL_FRAME, 0));
    const name = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error('the replica did not answer in time')),
        timeoutMs,
      );
      const onAbort = () => finish(new Error('the guest is stopping'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (outcome: Error | string) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.replied = () => undefined;
        if (typeof outcome === 'string') resolve(outcome);
        else reject(outcome);
      };
      this.replied = () => {
        if (!this.clients.has(socket)) return finish(new Error('every replica left the stream'));
        const reply = this.replies.get(socket);
        if (!reply || reply.length < 5) return;
        const length = reply.readUInt32BE(1);
        if (reply.readUInt8(0) !== CHANNEL_NAME_FRAME || length > MAX_CHANNEL_NAME_BYTES)
          return finish(new Error('the replica answered the channel offer wrongly'));
        if (reply.length < 5 + length) return;
        if (reply.length > 5 + length)
          return finish(new Error('the replica sent more than its answer'));
        finish(reply.subarray(5).toString('latin1'));
      };
      this.replied();
    });
    if (name === '') return null;
    if (!isChannelName(name))
      throw new Error('the replica answered with a channel name that is not one');
    return name;
  }

  /** Sends one piece of the stream to every replica; waits while any of them is behind. */
  async write(data: Buffer): Promise<void> {
    await this.send(DATA_FRAME, data);
  }

  /** Sends the manifest (the stream's end) and closes every connection once it is flushed. */
  async finish(manifest: Buffer): Promise<void> {
    await this.send(MANIFEST_FRAME, manifest);
    // A replica closes as soon as it has the manifest, which may reset the connection
    // (ECONNRESET): the stream is done either way, and one that failed fails on its own side.
    await Promise.all(
      [...this.clients].map(async (socket) => {
        socket.end();
        if (!socket.closed) await new Promise((closed) => socket.once('close', closed));
      }),
    );
  }

  /** Drops every connection and stops listening (idempotent). */
  close(): void {
    this.stopAccepting();
    if (this.server.listening) this.server.close();
    for (const socket of this.clients) socket.destroy();
    this.clients.clear();
  }

  private accept(socket: TLSSocket): void {
    if (!this.isAccepting) {
      // Too late: told so (it fails at once rather than look for the snapshot elsewhere).
      this.logger.warn('a replica came after the stream started: told it is too late');
      socket.on('error', () => undefined);
      socket.end(frameHeader(LATE_FRAME, 0));
      return;
    }
    socket.setNoDelay(true);
    socket.on('error', (error) => {
      this.logger.warn({ err: error }, 'a replica left the stream');
      this.clients.delete(socket);
      this.replied();
    });
    socket.on('close', () => {
      this.clients.delete(socket);
      this.replied();
    });
    // A replica sends only its answer to a channel offer (offerChannel); kept, little of it.
    socket.on('data', (data: Buffer) => {
      const kept = this.replies.get(socket) ?? Buffer.alloc(0);
      if (kept.length < 5 + MAX_CHANNEL_NAME_BYTES + 1)
        this.replies.set(socket, Buffer.concat([kept, data]));
      this.replied();
    });
    this.clients.add(socket);
    this.logger.info({ replicas: this.clients.size }, 'a replica joined the stream');
    this.joined();
  }

  private stopAccepting(): void {
    this.isAccepting = false;
  }

  private async send(type: number, data: Buffer): Promise<void> {
    if (this.clients.size === 0) throw new Error('every replica left the stream');
    this.sentSinceCollection += data.length;
    if (this.sentSinceCollection >= YOUNG_COLLECTION_BYTES) {
      this.sentSinceCollection = 0;
      collectYoung();
    }
    const header = frameHeader(type, data.length);
    let behind: Array<Promise<void>> | null = null;
    for (const socket of this.clients) {
      // One TLS write per frame (corked: header and payload go out as one record run, not a
      // 5-byte record of their own).
      socket.cork();
      socket.write(header);
      socket.write(data);
      socket.uncork();
      // Up to QUEUED_BYTES queued per replica before waiting: the tool is not stopped at every piece.
      if (socket.writableLength > QUEUED_BYTES) (behind ??= []).push(drained(socket));
    }
    if (behind) await Promise.all(behind);
    if (this.clients.size === 0) throw new Error('every replica left the stream');
  }
}

/** True for an address of this host's loopback (127.0.0.0/8, ::1). */
export function isLoopbackAddress(address: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(address) || address === '::1';
}

/** Resolves once `socket` drained or closed, leaving no listener behind either way. */
function drained(socket: TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
