/**
 * The direct stream's framing: each frame a 1-byte type and a 4-byte big-endian length, then
 * its bytes. `D` frames carry the backup's stream in order; one `M` frame, the manifest, ends
 * it. A stream that stops before its `M` frame was broken. An `L` frame alone tells a replica
 * that connected too late that the stream went without it.
 */
export const DATA_FRAME = 0x44; // 'D'
export const MANIFEST_FRAME = 0x4d; // 'M'
/** Sent alone to a replica that came after the stream started: it will not get this snapshot. */
export const LATE_FRAME = 0x4c; // 'L'
const HEADER_BYTES = 5;
/** The largest frame either end accepts. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

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

/** Cuts a byte stream into frames; throws on an unknown type or an oversized frame. */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  push(data: Buffer): Frame[] {
    this.pending.push(data);
    this.pendingBytes += data.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.pendingBytes < HEADER_BYTES) break;
      const head = this.peek(HEADER_BYTES);
      const type = head.readUInt8(0);
      const length = head.readUInt32BE(1);
      if (type !== DATA_FRAME && type !== MANIFEST_FRAME && type !== LATE_FRAME)
        throw new Error(`the direct stream sent an unknown frame type ${type}`);
      if (length > MAX_FRAME_BYTES)
        throw new Error(`the direct stream sent a frame of ${length} bytes`);
      if (this.pendingBytes < HEADER_BYTES + length) break;
      const whole = this.take(HEADER_BYTES + length);
      frames.push({ type, payload: whole.subarray(HEADER_BYTES) });
    }
    return frames;
  }

  /** Bytes received that are not a whole frame yet. */
  get buffered(): number {
    return this.pendingBytes;
  }

  private peek(bytes: number): Buffer {
    if (this.pending[0]!.length < bytes) this.pending = [Buffer.concat(this.pending)];
    return this.pending[0]!.subarray(0, bytes);
  }

  private take(bytes: number): Buffer {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = all.length > bytes ? [all.subarray(bytes)] : [];
    this.pendingBytes -= bytes;
    return all.subarray(0, bytes);
  }
}
