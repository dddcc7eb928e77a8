/**
 * The direct stream's framing: each frame a 1-byte type and a 4-byte big-endian length, then
 * its bytes. `D` frames carry the backup's stream in order; one `M` frame, the manifest, ends
 * it. A stream that stops before its `M` frame was broken. An `L` frame alone tells a replica
 * that connected too late that the stream went without it. An `X` frame first moves the data
 * to a channel of its own (CHANNEL_FRAME).
 */
export const DATA_FRAME = 0x44; // 'D'
export const MANIFEST_FRAME = 0x4d; // 'M'
/** Sent alone to a replica that came after the stream started: it will not get this snapshot. */
export const LATE_FRAME = 0x4c; // 'L'
/**
 * Source to its one replica on the same host, before any data: the data can go over a socket
 * channel (socket-channel.ts), then only the `M` frame follows here. The replica answers with
 * a `P` frame: its channel's name (ASCII), or nothing (length 0) to take the data in `D` frames.
 */
export const CHANNEL_FRAME = 0x58; // 'X'
export const CHANNEL_NAME_FRAME = 0x50; // 'P'
const HEADER_BYTES = 5;
/** The largest frame either end accepts. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/**
 * Every this many bytes sent or received, each end runs a young-generation collection (the
 * guest runs with --expose-gc). Every piece of the stream is a Buffer of its own (64 KiB read
 * from the tool's pipe, 16 KiB decrypted by TLS) whose memory lives outside V8's heap; the
 * few that sit in a socket's queue across two scavenges are promoted, and with the guest's
 * 1 MiB semi-space the external memory they hold soon reaches V8's limit, which then runs a
 * full mark-compact of the whole heap every ~100 ms (measured: 1 GB through both ends with a
 * guest-sized heap and 256 KiB queues, 81 mark-compacts on the source, 12.2 s; collecting
 * the young generation every 1 MiB, 4 of them, 3.2 s).
 */
export const YOUNG_COLLECTION_BYTES = 1024 * 1024;

export function collectYoung(): void {
  (globalThis as { gc?: (options: { type: 'minor' }) => void }).gc?.({ type: 'minor' });
}

export function frameHeader(type: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(length, 1);
  return header;
}

export interface Frame {
  type: number;
  payload: Buffer;
}

/**
 * Cuts a byte stream into frames as it arrives, without reassembling data frames: each piece
 * of a `D` frame's payload goes to `onData` as soon as it is received (a view of the received
 * buffer, not a copy: TLS hands over 16 KiB at a time, the source sends larger frames). An `M`
 * or `L` frame, which ends the stream, is collected whole and returned by the `push` that
 * completes it; so is an `X` frame, after which the stream goes on. Throws on an unknown type
 * or an oversized frame.
 */
export class FrameParser {
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerBytes = 0;
  private type = 0;
  /** Bytes of the current frame's payload still to come; -1 while reading a header. */
  private remaining = -1;
  private control: Buffer[] = [];
  /** Bytes received after the frame that ended the stream. */
  trailing = 0;
  private ended: Frame | null = null;

  constructor(private readonly onData: (piece: Buffer) => void) {}

  /** Takes received bytes; returns the frame that ended the stream when it completes here. */
  push(data: Buffer): Frame | null {
    if (this.ended) {
      this.trailing += data.length;
      return null;
    }
    let offset = 0;
    while (offset < data.length) {
      if (this.remaining < 0) {
        const take = Math.min(HEADER_BYTES - this.headerBytes, data.length - offset);
        data.copy(this.header, this.headerBytes, offset, offset + take);
        this.headerBytes += take;
        offset += take;
        if (this.headerBytes < HEADER_BYTES) break;
        this.headerBytes = 0;
        this.type = this.header.readUInt8(0);
        this.remaining = this.header.readUInt32BE(1);
        if (
          this.type !== DATA_FRAME &&
          this.type !== MANIFEST_FRAME &&
          this.type !== LATE_FRAME &&
          this.type !== CHANNEL_FRAME
        )
          throw new Error(`the direct stream sent an unknown frame type ${this.type}`);
        if (this.remaining > MAX_FRAME_BYTES)
          throw new Error(`the direct stream sent a frame of ${this.remaining} bytes`);
      }
      const take = Math.min(this.remaining, data.length - offset);
      if (take > 0) {
        const piece = data.subarray(offset, offset + take);
        if (this.type === DATA_FRAME) this.onData(piece);
        else this.control.push(piece);
        offset += take;
        this.remaining -= take;
      }
      if (this.remaining === 0) {
        this.remaining = -1;
        if (this.type !== DATA_FRAME) {
          const frame = { type: this.type, payload: Buffer.concat(this.control) };
          this.control = [];
          if (this.type === CHANNEL_FRAME) {
            // The source waits for the answer: nothing may follow it yet.
            if (offset < data.length)
              throw new Error('the direct stream went on after its channel offer');
            return frame;
          }
          this.ended = frame;
          this.trailing = data.length - offset;
          return this.ended;
        }
      }
    }
    return null;
  }

  /** Bytes received that are not a whole header or control frame yet (0 between frames). */
  get isBetweenFrames(): boolean {
    return this.remaining < 0 && this.headerBytes === 0;
  }
}
