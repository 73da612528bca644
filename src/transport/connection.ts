// One framed TCP connection over a Bun socket: an incremental parser on the way in, and a
// bounded outgoing queue on the way out that gathers every frame queued in one turn into a
// single socket write (one write per frame halves throughput).

import type { Socket } from "bun";
import { ErrorCode } from "../protocol/errors.ts";
import { FrameParser } from "../protocol/frame.ts";

export interface ConnectionHandler {
  frame(conn: Connection, type: number, id: number, frame: Uint8Array): void;
  /** The connection is being closed: a malformed stream, a handler that threw, or a peer that
   * does not read what it is sent. */
  failed(conn: Connection, problem: string, code?: number): void;
  closed(conn: Connection): void;
  /** The outgoing queue emptied (after having been over half full). */
  drained?(conn: Connection): void;
}

export interface ConnectionLimits {
  frameBytesMax: number;
  /** "turn": gather everything queued until the event loop's next turn (setImmediate) into one
   * write — more per write when many promise reactions queue frames one after another, as a
   * client with many appends in flight does. Default "microtask": write as soon as the current
   * job ends. */
  flush?: "microtask" | "turn";
  /** Bytes that may wait in the outgoing queue. Past this, `send` refuses and returns false. */
  queueBytesMax: number;
}

export class Connection {
  private readonly parser: FrameParser;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private flushScheduled = false;
  private closing = false;
  private wasCongested = false;
  private closedNotified = false;
  /** Free slot for the owner's per-connection state. */
  state: unknown = undefined;

  constructor(
    readonly socket: Socket<unknown>,
    private readonly limits: ConnectionLimits,
    private readonly handler: ConnectionHandler,
  ) {
    this.parser = new FrameParser(limits.frameBytesMax, {
      frame: (type, id, frame) => {
        if (this.closing) return;
        try {
          this.handler.frame(this, type, id, frame);
        } catch (e) {
          // A handler that throws would leave the stream half-read: end the connection instead.
          this.handler.failed(this, `error while handling a frame of type ${type}: ${(e as Error).message}`);
          this.close();
        }
      },
    });
  }

  get queuedBytes(): number {
    return this.queued;
  }

  get isOpen(): boolean {
    return !this.closing;
  }

  /** Feed bytes from the socket's data callback. */
  received(chunk: Uint8Array): void {
    if (this.closing) return;
    const bad = this.parser.push(chunk);
    if (bad) {
      this.handler.failed(this, bad.problem, bad.tooLarge ? ErrorCode.frameTooLarge : ErrorCode.badFrame);
      this.close();
    }
  }

  /**
   * Queues a frame. When the queue is full the peer is not reading what it is sent: the connection
   * is closed (a reply is never dropped silently) and false is returned.
   */
  send(bytes: Uint8Array): boolean {
    if (this.closing) return false;
    if (this.queued + bytes.length > this.limits.queueBytesMax) {
      this.handler.failed(this, `the peer is not reading: more than ${this.limits.queueBytesMax} bytes wait to be sent to it`);
      this.destroy();
      return false;
    }
    this.queue.push(bytes);
    this.queued += bytes.length;
    if (this.queued >= this.limits.queueBytesMax / 2) this.wasCongested = true;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      if (this.limits.flush === "turn") setImmediate(this.flush);
      else queueMicrotask(this.flush);
    }
    return true;
  }

  /** Writes what is queued now rather than when the current job ends (forwarding a batch before
   * the local disk write that follows it). */
  flushNow(): void {
    if (this.queued > 0) this.flush();
  }

  /** Sends what is queued, then closes the socket. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.flush();
    this.socket.end();
  }

  /** Closes at once, dropping anything still queued. */
  destroy(): void {
    this.closing = true;
    this.queue = [];
    this.queued = 0;
    this.socket.terminate();
  }

  /** Call from the socket's drain callback. */
  drain(): void {
    this.flush();
  }

  /** Call from the socket's close callback. */
  socketClosed(): void {
    if (this.closedNotified) return;
    this.closedNotified = true;
    this.closing = true;
    this.queue = [];
    this.queued = 0;
    this.handler.closed(this);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.queued === 0) return;
    const bytes = this.queue.length === 1 ? this.queue[0] : concat(this.queue, this.queued);
    const written = this.socket.write(bytes);
    if (written < 0) {
      this.queue = [];
      this.queued = 0;
      return;
    }
    if (written >= bytes.length) {
      this.queue = [];
      this.queued = 0;
      if (this.wasCongested) {
        this.wasCongested = false;
        this.handler.drained?.(this);
      }
      return;
    }
    const rest = bytes.subarray(written);
    this.queue = [rest];
    this.queued = rest.length;
  };
}

export function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
