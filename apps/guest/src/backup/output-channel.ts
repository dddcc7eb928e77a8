import { randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

/**
 * A tool's stdout that the guest reads in large pieces into one buffer it reuses for the
 * whole backup. A child's `stdio: 'pipe'` stdout gives the guest a fresh 64 KiB buffer per
 * read (13,000 for an 800 MiB stream): the stream machinery and the garbage collection of
 * those buffers (V8 ran a full collection every ~40 ms for their external memory) cost
 * more CPU than the encryption. Here the tool writes into one end of a Unix socket, and
 * the guest's end reads with `onread` into a {@link READ_BUFFER_BYTES} buffer (a read
 * returns what the socket holds, up to its buffer of a few hundred KiB): no buffer is
 * allocated per read, and reading waits while the taker does (the tool's writes then block).
 *
 * The socket is in the abstract namespace (a volume's path can be longer than a socket
 * path may be) under a random name, and the guest's end proves itself with a random token
 * before the tool's end is handed over: a local process that connected first is refused.
 */

export const READ_BUFFER_BYTES = 1024 * 1024;

const TOKEN_BYTES = 32;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Takes a piece of the stream: null when it was taken at once (the buffer is reused by the
 * next read), otherwise a promise, and the piece stays untouched until it resolves.
 */
export type TakePiece = (piece: Buffer) => Promise<void> | null;

export interface OutputChannel {
  /** The tool's stdout: pass it in `stdio`, then call {@link OutputChannel.handedOver}. */
  readonly toolEnd: Socket;
  /** Closes the guest's copy of the tool's end once the tool was spawned (or failed to be). */
  handedOver(): void;
  /** Reads to the end of the stream (every writer closed it); resolves with the bytes read. */
  pump(take: TakePiece): Promise<number>;
  /** Closes both ends (after a failure). */
  destroy(): void;
}

export async function openOutputChannel(
  readBufferBytes = READ_BUFFER_BYTES,
): Promise<OutputChannel> {
  const path = `\0coffer-backup-${randomBytes(16).toString('hex')}`;
  const token = randomBytes(TOKEN_BYTES);
  const server = createServer();
  const buffer = Buffer.allocUnsafeSlow(readBufferBytes);
  let onPiece: (size: number) => void = () => undefined;
  let guestEnd: Socket | null = null;
  try {
    server.listen(path);
    await once(server, 'listening');
    const accepted = new Promise<Socket>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the backup output channel was not connected')),
        CONNECT_TIMEOUT_MS,
      );
      server.on('connection', (socket) => {
        const received: Buffer[] = [];
        let length = 0;
        const onData = (data: Buffer) => {
          received.push(data);
          length += data.length;
          if (length < TOKEN_BYTES) return;
          socket.off('data', onData);
          socket.pause();
          const sent = Buffer.concat(received);
          if (sent.length === TOKEN_BYTES && timingSafeEqual(sent, token)) {
            clearTimeout(timer);
            resolve(socket);
          } else {
            socket.destroy();
          }
        };
        socket.on('data', onData);
        socket.on('error', () => undefined);
      });
    });
    guestEnd = connect({
      path,
      onread: {
        buffer,
        callback: (size: number) => {
          onPiece(size);
          return true; // `pump` pauses the socket itself while a piece is being taken
        },
      },
    });
    // Nothing is read before `pump` (paused while connecting: it does not start reading).
    guestEnd.pause();
    guestEnd.on('error', () => undefined);
    guestEnd.write(token);
    const toolEnd = await accepted;
    server.close();
    const reader = guestEnd;
    return {
      toolEnd,
      handedOver: () => {
        toolEnd.destroy();
      },
      pump: (take) =>
        new Promise<number>((resolve, reject) => {
          let total = 0;
          let failed = false;
          const fail = (error: unknown) => {
            if (failed) return;
            failed = true;
            reader.destroy();
            reject(error instanceof Error ? error : new Error(String(error)));
          };
          onPiece = (size) => {
            if (failed) return;
            total += size;
            let pending: Promise<void> | null;
            try {
              pending = take(buffer.subarray(0, size));
            } catch (error) {
              fail(error);
              return;
            }
            if (!pending) return;
            // The piece is still being taken: no read may reuse the buffer until it is.
            reader.pause();
            pending.then(() => {
              if (!failed) reader.resume();
            }, fail);
          };
          reader.once('end', () => {
            if (!failed) resolve(total);
          });
          reader.once('error', fail);
          reader.resume();
        }),
      destroy: () => {
        toolEnd.destroy();
        reader.destroy();
      },
    };
  } catch (error) {
    guestEnd?.destroy();
    server.close();
    throw error;
  }
}
