import { once } from 'node:events';
import { connect, type TLSSocket } from 'node:tls';

import {
  CHANNEL_FRAME,
  collectYoung,
  frameHeader,
  FrameParser,
  LATE_FRAME,
  CHANNEL_NAME_FRAME,
  YOUNG_COLLECTION_BYTES,
} from './frames';
import { clientTlsOptions } from './tls-psk';

/**
 * The replica guest's end of its direct stream: `connectStream` tries to reach its source's
 * guest (TLS-PSK) until the window is over, and returns null when it cannot (the caller falls
 * back to the object store); `receiveStream` then hands each piece of the backup's stream to
 * `sink` in order (waiting for it: the source waits too) and returns the manifest that ends
 * it. A stream that stops before its manifest, or a wrong frame, throws: it was broken; so
 * does a source that started without this replica (it came too late).
 */

export interface StreamAddress {
  host: string;
  port: number;
  key: Buffer;
  identity: string;
  connectWindowMs: number;
}

/** Between tries while the source does not listen yet (refused at once on its host: cheap). */
const RETRY_MS = 20;

export async function connectStream(
  address: StreamAddress,
  signal?: AbortSignal,
): Promise<{ socket: TLSSocket } | { socket: null; reason: string }> {
  const deadline = Date.now() + address.connectWindowMs;
  let reason = 'no attempt was made';
  while (Date.now() < deadline && !signal?.aborted) {
    const socket = connect({
      host: address.host,
      port: address.port,
      ...clientTlsOptions(address.key, address.identity),
    });
    // A peer that never answers (a firewall dropping packets, a listener that says nothing)
    // is given up on when the window is over, not when the system's own timeout would be.
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        once(socket, 'secureConnect'),
        once(socket, 'close').then(() => {
          throw new Error('the connection was closed during the handshake');
        }),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error('no answer within the window')),
            Math.max(1, deadline - Date.now()),
          );
        }),
      ]);
      clearTimeout(timer);
      socket.setNoDelay(true);
      return { socket };
    } catch (error) {
      clearTimeout(timer);
      socket.destroy();
      reason = (error as Error).message;
      // A peer that is there but refuses our key will not change its mind.
      if (/alert|handshake|psk|ssl|tls/i.test(reason) && !/ECONNREFUSED/.test(reason)) break;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
  return { socket: null, reason };
}

/**
 * Takes the stream from 'data' events (no promise per piece): each piece of the backup's
 * stream goes to `sink` as it arrives; when the sink says to wait (it returns a promise: its
 * unpacker is behind) the socket is paused until it resolves, so the source waits too.
 */
/** The replica's end of a socket channel (socket-channel.ts), once it listens. */
export interface OpenedChannel {
  /** Its name, told to the source. */
  name: string;
  /** Resolves once the unpacker took everything the source sent on it (and exited 0). */
  done: Promise<void>;
  stop(): void;
}

/**
 * `openChannel`, when given, is how the replica takes the data when its source offers a
 * socket channel (CHANNEL_FRAME): then no `D` frame may come, and the stream is whole once
 * the manifest came here and the channel's taker is done. Without it the replica answers that
 * it takes the data in frames.
 */
export async function receiveStream(
  socket: TLSSocket,
  sink: (data: Buffer) => Promise<void> | undefined,
  signal?: AbortSignal,
  openChannel?: () => Promise<OpenedChannel>,
): Promise<{ manifest: Buffer; bytes: number; channel: boolean }> {
  let bytes = 0;
  let failed: Error | null = null;
  /** The manifest came: the source closing the connection now is its normal end. */
  let isEnded = false;
  let resolveEnd: (manifest: Buffer) => void = () => undefined;
  let rejectEnd: (error: Error) => void = () => undefined;
  const ended = new Promise<Buffer>((resolve, reject) => {
    resolveEnd = resolve;
    rejectEnd = reject;
  });
  let channel: Promise<OpenedChannel> | null = null;
  const fail = (error: Error) => {
    failed ??= error;
    rejectEnd(failed);
    socket.destroy();
    void channel?.then(
      (opened) => opened.stop(),
      () => undefined,
    );
  };
  const answer = (name: string) => {
    const reply = Buffer.from(name, 'latin1');
    socket.write(Buffer.concat([frameHeader(CHANNEL_NAME_FRAME, reply.length), reply]));
  };
  /** The sink's waits not over yet: the socket stays paused while there is one. */
  const waits = new Set<Promise<void>>();
  let receivedSinceCollection = 0;
  const parser = new FrameParser((piece) => {
    if (channel) {
      fail(new Error('the direct stream sent data in frames after moving it to its channel'));
      return;
    }
    bytes += piece.length;
    receivedSinceCollection += piece.length;
    if (receivedSinceCollection >= YOUNG_COLLECTION_BYTES) {
      receivedSinceCollection = 0;
      collectYoung();
    }
    const wait = sink(piece);
    if (!wait) return;
    if (waits.size === 0) socket.pause();
    const tracked: Promise<void> = wait.then(
      () => {
        waits.delete(tracked);
        if (waits.size === 0 && !socket.destroyed) socket.resume();
      },
      (error: unknown) => fail(error as Error),
    );
    waits.add(tracked);
  });
  const onAbort = () => fail(new Error('the guest is stopping'));
  signal?.addEventListener('abort', onAbort, { once: true });
  socket.on('data', (data: Buffer) => {
    if (failed) return;
    try {
      const frame = parser.push(data);
      if (!frame) return;
      if (frame.type === CHANNEL_FRAME) {
        if (channel || bytes > 0) throw new Error('the direct stream offered a channel midway');
        if (!openChannel) return answer('');
        const opening = openChannel();
        channel = opening;
        opening.then(
          (opened) => {
            if (!failed) answer(opened.name);
            else opened.stop();
          },
          () => {
            // No channel here after all: the data in frames.
            channel = null;
            if (!failed) answer('');
          },
        );
        return;
      }
      if (frame.type === LATE_FRAME) {
        fail(
          new Error(
            'the source had already started sending the snapshot to its other replicas: this one came too late',
          ),
        );
      } else if (parser.trailing > 0) {
        fail(new Error('the direct stream went on after its end'));
      } else {
        isEnded = true;
        resolveEnd(frame.payload);
      }
    } catch (error) {
      fail(error as Error);
    }
  });
  socket.on('error', (error) => {
    if (!isEnded) fail(error);
  });
  socket.on('close', () => {
    if (!isEnded)
      fail(new Error(`the direct stream was broken after ${bytes} bytes (no manifest came)`));
  });
  try {
    const manifest = await ended;
    // Every piece came before the manifest: the sink has them all once its waits are over.
    await Promise.all(waits);
    if (failed) throw failed;
    if (channel) {
      // The source sent the manifest once its tool exited 0: the channel's taker must have
      // read it all (to the channel's end) and exited 0 too.
      const opened = await (channel as Promise<OpenedChannel>);
      await opened.done;
    }
    return { manifest, bytes, channel: channel !== null };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    socket.destroy();
  }
}
