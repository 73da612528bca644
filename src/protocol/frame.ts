// Frame header and the incremental frame parser. No sockets, no timers: bytes in, frames out.
//
// Every frame starts with a 12-byte header, little-endian:
//   0  u32 frameBytes   the whole frame, header included
//   4  u8  type
//   5  u8  flags        0 (reserved)
//   6  u16 reserved     0
//   8  u32 id           correlation id: a reply carries the id of its request
//  12  body

export const FRAME_HEADER_BYTES = 12;
export const PROTOCOL_VERSION = 1;

export interface FrameSink {
  /** `frame` is the whole frame. It is a view into the received chunk when the frame sat inside
   * one chunk, so it is only valid during the call: copy what must outlive it. */
  frame(type: number, id: number, frame: Uint8Array): void;
}

/** Why the stream cannot be read on. `tooLarge` marks a frame over the size limit. */
export type ParseProblem = { problem: string; tooLarge: boolean };

/**
 * Splits a byte stream into frames. A frame that lies inside one received chunk is passed on as a
 * view (no copy); only a frame split across chunks is assembled in a buffer of its exact size, which
 * is allocated only after its length has been checked against `frameBytesMax`.
 */
export class FrameParser {
  private partial: Uint8Array | null = null; // a frame being assembled across chunks
  private partialFill = 0;
  private header = new Uint8Array(FRAME_HEADER_BYTES); // a header split across chunks
  private headerFill = 0;
  private failed: ParseProblem | null = null;

  constructor(
    private readonly frameBytesMax: number,
    private readonly sink: FrameSink,
  ) {}

  /** Feeds received bytes. Returns a problem once the stream is malformed; the caller closes it. */
  push(chunk: Uint8Array): ParseProblem | null {
    if (this.failed !== null) return this.failed;
    let pos = 0;
    while (pos < chunk.length) {
      if (this.partial !== null) {
        pos = this.fillPartial(chunk, pos);
        continue;
      }
      if (this.headerFill > 0 || chunk.length - pos < FRAME_HEADER_BYTES) {
        const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, chunk.length - pos);
        this.header.set(chunk.subarray(pos, pos + take), this.headerFill);
        this.headerFill += take;
        pos += take;
        if (this.headerFill < FRAME_HEADER_BYTES) break;
        const problem = this.startPartial(this.header, 0);
        if (problem) return this.fail(problem);
        continue;
      }
      const size = frameSize(chunk, pos);
      const problem = this.checkSize(size);
      if (problem) return this.fail(problem);
      if (chunk.length - pos >= size) {
        this.emit(chunk.subarray(pos, pos + size));
        pos += size;
      } else {
        this.startPartial(chunk, pos);
      }
    }
    return null;
  }

  /** True while part of a frame has arrived and the rest has not. */
  get midFrame(): boolean {
    return this.partial !== null || this.headerFill > 0;
  }

  private startPartial(src: Uint8Array, at: number): ParseProblem | null {
    const size = frameSize(src, at);
    const problem = this.checkSize(size);
    if (problem) return problem;
    this.partial = new Uint8Array(size);
    if (src === this.header) {
      this.partial.set(this.header);
      this.partialFill = FRAME_HEADER_BYTES;
      this.headerFill = 0;
      if (size === FRAME_HEADER_BYTES) this.finishPartial();
    } else {
      this.partialFill = 0;
    }
    return null;
  }

  private fillPartial(chunk: Uint8Array, pos: number): number {
    const partial = this.partial!;
    const take = Math.min(partial.length - this.partialFill, chunk.length - pos);
    partial.set(chunk.subarray(pos, pos + take), this.partialFill);
    this.partialFill += take;
    if (this.partialFill === partial.length) this.finishPartial();
    return pos + take;
  }

  private finishPartial(): void {
    const whole = this.partial!;
    this.partial = null;
    this.partialFill = 0;
    this.emit(whole);
  }

  private emit(frame: Uint8Array): void {
    const type = frame[4];
    const id = (frame[8] | (frame[9] << 8) | (frame[10] << 16) | (frame[11] << 24)) >>> 0;
    this.sink.frame(type, id, frame);
  }

  private checkSize(size: number): ParseProblem | null {
    if (size < FRAME_HEADER_BYTES) return { problem: `frame length ${size} is shorter than the ${FRAME_HEADER_BYTES}-byte header`, tooLarge: false };
    if (size > this.frameBytesMax) return { problem: `frame length ${size} exceeds the limit of ${this.frameBytesMax} bytes`, tooLarge: true };
    return null;
  }

  private fail(problem: ParseProblem): ParseProblem {
    this.failed = problem;
    this.partial = null;
    return problem;
  }
}

function frameSize(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

/** Writes a frame header at `pos` of `dv`. */
export function writeFrameHeader(dv: DataView, pos: number, frameBytes: number, type: number, id: number): void {
  dv.setUint32(pos, frameBytes, true);
  dv.setUint8(pos + 4, type);
  dv.setUint8(pos + 5, 0);
  dv.setUint16(pos + 6, 0, true);
  dv.setUint32(pos + 8, id >>> 0, true);
}
