import { once } from 'node:events';
import { connect, type TLSSocket } from 'node:tls';

import { DATA_FRAME, FrameReader, LATE_FRAME } from './frames';
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

const RETRY_MS = 100;

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
    try {
      await Promise.race([
        once(socket, 'secureConnect'),
        once(socket, 'close').then(() => {
          throw new Error('the connection was closed during the handshake');
        }),
      ]);
      socket.setNoDelay(true);
      return { socket };
    } catch (error) {
      socket.destroy();
      reason = (error as Error).message;
      // A peer that is there but refuses our key will not change its mind.
      if (/alert|handshake|psk|ssl|tls/i.test(reason) && !/ECONNREFUSED/.test(reason)) break;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
  return { socket: null, reason };
}

export async function receiveStream(
  socket: TLSSocket,
  sink: (data: Buffer) => Promise<void>,
  signal?: AbortSignal,
): Promise<{ manifest: Buffer; bytes: number }> {
  const reader = new FrameReader();
  let bytes = 0;
  const onAbort = () => socket.destroy(new Error('the guest is stopping'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const data of socket as AsyncIterable<Buffer>) {
      for (const frame of reader.push(data)) {
        if (frame.type === DATA_FRAME) {
          bytes += frame.payload.length;
          await sink(frame.payload);
        } else if (frame.type === LATE_FRAME) {
          throw new Error(
            'the source had already started sending the snapshot to its other replicas; create this replica again',
          );
        } else {
          if (reader.buffered > 0) throw new Error('the direct stream went on after its end');
          return { manifest: Buffer.from(frame.payload), bytes };
        }
      }
    }
    throw new Error(`the direct stream was broken after ${bytes} bytes (no manifest came)`);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    socket.destroy();
  }
}
