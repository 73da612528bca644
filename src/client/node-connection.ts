// One client connection to a node: HELLO, then requests multiplexed by id. Frames queued in the
// same turn leave in one socket write (see Connection).

import { parseAddress } from "../config/index.ts";
import { CatenaError, ErrorCode } from "../protocol/errors.ts";
import { PROTOCOL_VERSION } from "../protocol/frame.ts";
import { FrameType, PeerKind, decodeError, decodeHelloOk, encodeHello } from "../protocol/messages.ts";
import type { Connection } from "../transport/connection.ts";
import { connect, type ClientTls } from "../transport/tcp.ts";

interface Pending {
  resolve(frame: Uint8Array): void;
  reject(err: Error): void;
  sentAt: number;
}

export interface StreamHandler {
  frame(frame: Uint8Array): void;
  error(err: CatenaError): void;
}

export const CLIENT_FRAME_BYTES_MAX = 64 << 20;

/** Request ids 1, 2, … 2^32 − 16, then 1 again (0 is the id of connection-level errors). */
export function counter(): () => number {
  let next = 1;
  return () => {
    const id = next;
    next = next >= 0xffff_fff0 ? 1 : next + 1;
    return id;
  };
}

/** Frames that answer no request or stream of this connection (acknowledgements, errors for
 * fire-and-forget sends). */
export type UnsolicitedHandler = (type: number, id: number, frame: Uint8Array) => void;

export class NodeConnection {
  private conn: Connection | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly streams = new Map<number, StreamHandler>();
  private sweeper: ReturnType<typeof setInterval> | null = null;
  private closedError: Error | null = null;

  constructor(
    readonly address: string,
    private readonly requestTimeoutMs: number,
    private readonly unsolicited: UnsolicitedHandler = () => {},
    private readonly onClosed: (err: Error) => void = () => {},
    private readonly security: { token: string; tls?: ClientTls } = { token: "" },
    /** Where request ids come from: a client shares one source among its connections, so an id
     * is never reused across a reconnect (a late error can only ever match its own request). */
    private readonly ids: () => number = counter(),
  ) {}

  async open(): Promise<void> {
    const addr = parseAddress(this.address);
    if (typeof addr === "string") throw new CatenaError(ErrorCode.badFrame, `bad node address ${this.address}: ${addr}`);
    try {
      this.conn = await connect(addr, { frameBytesMax: CLIENT_FRAME_BYTES_MAX, queueBytesMax: 256 << 20, flush: "turn" }, {
        frame: (_c, type, id, frame) => this.frame(type, id, frame),
        failed: (_c, problem) => this.fail(new CatenaError(ErrorCode.badFrame, `connection to node ${this.address} failed: ${problem}`)),
        closed: () => this.fail(new CatenaError(ErrorCode.unavailable, `connection to ${this.address} closed`)),
      }, this.security.tls, Math.max(100, this.requestTimeoutMs));
    } catch (e) {
      throw new CatenaError(ErrorCode.unavailable, `cannot connect to node ${this.address}: ${(e as Error).message}`);
    }
    this.sweeper = setInterval(() => this.expire(), Math.max(50, Math.min(1000, this.requestTimeoutMs / 4)));
    this.sweeper.unref?.();
    const hello = await this.request((id) => encodeHello(id, { version: PROTOCOL_VERSION, kind: PeerKind.client, chainId: 0, epoch: 0, commitEnd: 0, nodeId: "", token: this.security.token }));
    decodeHelloOk(hello);
  }

  get isOpen(): boolean {
    return this.conn !== null && this.closedError === null;
  }

  /** Sends the frame built for a fresh request id; resolves with the reply frame. */
  request(build: (id: number) => Uint8Array): Promise<Uint8Array> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.takeId();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, sentAt: performance.now() });
      if (!this.conn!.send(build(id))) {
        this.pending.delete(id);
        reject(new CatenaError(ErrorCode.overloaded, `too much queued for ${this.address}`));
      }
    });
  }

  /** Sends a frame with a fresh id and no reply tracking; returns the id, or -1 if not sent. */
  post(build: (id: number) => Uint8Array): number {
    if (this.closedError || !this.conn) return -1;
    const id = this.takeId();
    return this.conn.send(build(id)) ? id : -1;
  }

  /** Opens a stream (subscribe): every frame with its id goes to `handler` until it is closed. */
  stream(build: (id: number) => Uint8Array, handler: StreamHandler): number {
    const id = this.takeId();
    this.streams.set(id, handler);
    this.conn?.send(build(id));
    return id;
  }

  endStream(id: number, farewell?: Uint8Array): void {
    this.streams.delete(id);
    if (farewell) this.conn?.send(farewell);
  }

  close(): void {
    this.fail(new CatenaError(ErrorCode.unavailable, "client closed"));
    this.conn?.close();
  }

  private takeId(): number {
    return this.ids();
  }

  private frame(type: number, id: number, frame: Uint8Array): void {
    const stream = this.streams.get(id);
    if (stream) {
      if (type === FrameType.error) {
        this.streams.delete(id);
        stream.error(decodeError(frame));
      } else stream.frame(frame);
      return;
    }
    const p = this.pending.get(id);
    if (!p) return this.unsolicited(type, id, frame);
    this.pending.delete(id);
    if (type === FrameType.error) p.reject(decodeError(frame));
    else p.resolve(frame);
  }

  private expire(): void {
    const limit = performance.now() - this.requestTimeoutMs;
    for (const [id, p] of this.pending) {
      if (p.sentAt > limit) break;
      this.pending.delete(id);
      p.reject(new CatenaError(ErrorCode.unavailable, `no answer from ${this.address} within ${this.requestTimeoutMs} ms`));
    }
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const s of this.streams.values()) s.error(err instanceof CatenaError ? err : new CatenaError(ErrorCode.unavailable, err.message));
    this.streams.clear();
    this.onClosed(err);
  }
}
