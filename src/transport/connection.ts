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
  /** True while the peer waits for this side (a subscription, pending appends): such a connection
   * is not idle however long the peer stays silent. Default: false. */
  busy?(conn: Connection): boolean;
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

/** Frames smaller than this are gathered into one socket write, up to this many bytes in all. */
const GATHER_BYTES_MAX = 256 * 1024;

/** How long a closing connection may take to hand its peer what is still queued (a farewell ERROR). */
const CLOSE_LINGER_MS = 10_000;

export class Connection {
  private readonly parser: FrameParser;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private flushScheduled = false;
  private closing = false;
  private wasCongested = false;
  private endWhenFlushed = false;
  /** The first queued frame is partly written already. */
  private headStarted = false;
  /** The queue overflowed: only the farewell may still be queued, past the limit. */
  private overflowed = false;
  private closedNotified = false;
  /** Free slot for the owner's per-connection state. */
  state: unknown = undefined;
  /** Set by the owner once the peer has said HELLO (and so proved who it is). */
  greeted = false;
  /** Frames received so far: the listener's sweep compares it between rounds to see activity. */
  framesReceived = 0;
  /** Bytes the socket has taken so far: the sweep compares it to see a peer that reads nothing. */
  bytesWritten = 0;
  /** The peer certificate's names (DNS names and CN), checked by the TLS layer; null on plain TCP. */
  peerNames: readonly string[] | null = null;

  constructor(
    readonly socket: Socket<unknown>,
    private readonly limits: ConnectionLimits,
    private readonly handler: ConnectionHandler,
  ) {
    this.parser = new FrameParser(limits.frameBytesMax, {
      frame: (type, id, frame) => {
        if (this.closing) return;
        this.framesReceived++;
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

  /** Part of a frame has arrived and the rest has not. */
  get midFrame(): boolean {
    return this.parser.midFrame;
  }

  get isBusy(): boolean {
    return this.handler.busy?.(this) ?? false;
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
      if (this.overflowed) return false;
      const problem = `the peer is not reading: more than ${this.limits.queueBytesMax} bytes wait to be sent to it`;
      // Frames not yet started are dropped, so the farewell ERROR the handler sends goes out right
      // after whatever frame is half written.
      this.queue = this.queue.length > 0 && this.headStarted ? [this.queue[0]] : [];
      this.queued = this.queue.length > 0 ? this.queue[0].length : 0;
      this.overflowed = true;
      this.handler.failed(this, problem, ErrorCode.overloaded);
      this.close();
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

  /** Sends what is queued, then closes the socket. A peer that does not read it within
   * CLOSE_LINGER_MS is cut off. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.flush();
    if (this.queued === 0) return void this.socket.end();
    this.endWhenFlushed = true;
    setTimeout(() => {
      if (!this.closedNotified) this.socket.terminate();
    }, CLOSE_LINGER_MS).unref?.();
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
    while (this.queued > 0) {
      // Small frames queued together go out in one write; a large one goes as it is, not copied
      // into a bigger buffer (a catch-up queues megabytes, and a partial write left a rest that
      // was copied again with every frame queued after it).
      let count = 1;
      let bytes = this.queue[0];
      if (bytes.length < GATHER_BYTES_MAX && this.queue.length > 1) {
        let total = bytes.length;
        while (count < this.queue.length && total + this.queue[count].length <= GATHER_BYTES_MAX) total += this.queue[count++].length;
        if (count > 1) bytes = concat(this.queue.slice(0, count), total);
      }
      const written = this.socket.write(bytes);
      if (written < 0) {
        this.queue = [];
        this.queued = 0;
        return;
      }
      this.bytesWritten += written;
      this.queued -= written;
      if (written < bytes.length) {
        // The socket is full: the rest waits for drain, as the head of the queue.
        this.queue.splice(0, count, bytes.subarray(written));
        this.headStarted ||= written > 0;
        return;
      }
      this.queue.splice(0, count);
      this.headStarted = false;
    }
    if (this.endWhenFlushed) return void this.socket.end();
    if (this.wasCongested) {
      this.wasCongested = false;
      this.handler.drained?.(this);
    }
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
