// The link from a replica to its successor: connect, handshake, then stream every batch the
// successor lacks. Live batches are forwarded as the very frames received (or built, at the
// head); whatever is not in the live queue (catch-up after a connect, or batches dropped while
// the successor was slow) is read back from the log. A window of batches and bytes bounds what is
// in flight; the commit end reported back by the successor (COMMIT) opens it again. The link also
// carries DURABLE down: the lowest ackable end of this node and every node above it.

import type { Address } from "../config/index.ts";
import { decideHandshake } from "../chain/handshake.ts";
import { CatenaError, ErrorCode } from "../protocol/errors.ts";
import { PROTOCOL_VERSION } from "../protocol/frame.ts";
import { FrameType, PeerKind, REPLICATE_HEADER_BYTES, decodeError, decodeHelloOk, decodeWatermark, encodeHello, encodeWatermark, writeReplicateHeader, type HelloOk } from "../protocol/messages.ts";
import { dataView } from "../protocol/record.ts";
import type { Connection } from "../transport/connection.ts";
import { connect, type ClientTls } from "../transport/tcp.ts";
import type { Logger } from "../util/logger.ts";

export interface DownstreamHost {
  readonly chainId: number;
  readonly nodeId: string;
  epoch(): number;
  logEnd(): number;
  commitEnd(): number;
  /** The successor is a syncing (returning or new) node, not yet part of the commit. */
  successorSyncing(): boolean;
  /** CRC of the entry at `offset`, or null when this log does not hold it. */
  entryCrc(offset: number): number | null;
  /** Whole records from `from`, as the log returns them. */
  /** Whole records from `from`, after `headroom` free bytes. */
  readRecords(from: number, maxBytes: number, headroom: number): { bytes: Uint8Array; count: number };
  /** The successor reported the chain's commit end. */
  commitReported(end: number): void;
  /** The successor holds committed entries this log does not (see started). */
  lacksCommitted(): void;
  /** This node's sync policy is "interval" or "none": a power loss of every node may have taken
   * committed entries from it, and the chain may have gone on from a shorter log. */
  readonly mayLoseCommitted: boolean;
  readonly limits: { frameBytesMax: number; connectionQueueBytesMax: number; batchBytesMax: number; inflightBatchesMax: number; inflightBytesMax: number };
  readonly log: Logger;
  /** This node's certificate and the cluster CA: the successor must prove it is `successorId`. */
  readonly tls: { cert: string; key: string; ca: string | null } | null;
  /** The node token, sent in HELLO ("" when none is configured). */
  readonly nodeToken: string;
  /** Write a live batch to the socket at once, before this node's own disk write (sync "always":
   * the successor's write and fdatasync overlap ours). Otherwise it leaves when the current job
   * ends, in one write with the DURABLE that follows it. */
  readonly forwardBeforeLocalWrite: boolean;
}

interface LiveBatch {
  frame: Uint8Array;
  first: number;
  end: number;
}

const RECONNECT_MS = 50;

export class Downstream {
  private conn: Connection | null = null;
  private streaming = false;
  private stopped = false;
  private sentEnd = 0;
  private live: LiveBatch[] = [];
  private liveBytes = 0;
  private inflight: { end: number; bytes: number }[] = [];
  private inflightBytes = 0;
  private lastDurableSent = -1;
  private pendingDurable = -1;
  /** The chain's commit end last sent down to a syncing successor, and the latest known. */
  private lastCommitSent = -1;
  private pendingCommit = -1;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;

  constructor(
    readonly successorId: string,
    readonly address: Address,
    private readonly host: DownstreamHost,
  ) {
    this.open();
  }

  get connected(): boolean {
    return this.streaming;
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.conn?.close();
    this.conn = null;
  }

  /** A new batch was written locally; forward it when its turn comes. */
  offer(frame: Uint8Array, first: number, end: number): void {
    if (!this.streaming || end <= this.sentEnd) return;
    if (this.liveBytes + frame.length > this.host.limits.inflightBytesMax) {
      // The successor is slow: drop live frames and read them back from the log later.
      this.live = [];
      this.liveBytes = 0;
    }
    this.live.push({ frame, first, end });
    this.liveBytes += frame.length;
    this.pump();
  }

  /** Tell the successor the lowest ackable end of this node and every node above it. */
  announceDurable(end: number): void {
    this.pendingDurable = end;
    if (this.streaming) this.flushDurable();
  }

  /**
   * To a syncing successor only: the chain's commit end (COMMIT, down the chain). What it copied
   * below it is committed, so the successor records it, and its next handshake (a reconnect, a new
   * epoch) keeps that much of the copy instead of starting again.
   */
  announceCommit(end: number): void {
    this.pendingCommit = end;
    if (this.streaming) this.flushCommit();
  }

  private flushCommit(): void {
    if (!this.host.successorSyncing() || this.pendingCommit <= this.lastCommitSent || !this.conn) return;
    this.conn.send(encodeWatermark(FrameType.commit, { chainId: this.host.chainId, epoch: this.host.epoch(), offset: this.pendingCommit }));
    this.lastCommitSent = this.pendingCommit;
  }

  private flushDurable(): void {
    if (this.pendingDurable <= this.lastDurableSent || !this.conn) return;
    this.conn.send(encodeWatermark(FrameType.durable, { chainId: this.host.chainId, epoch: this.host.epoch(), offset: this.pendingDurable }));
    this.lastDurableSent = this.pendingDurable;
  }

  private pump(): void {
    const conn = this.conn;
    if (!conn || !this.streaming) return;
    const limits = this.host.limits;
    // A live batch may be offered before it is in the local log (it is forwarded first).
    const logEnd = this.host.logEnd();
    const target = Math.max(logEnd, this.live.length > 0 ? this.live[this.live.length - 1].end : 0);
    // Stop at half the connection's queue: the socket is slower than the log (a catch-up); the
    // queue's drain resumes the pump.
    const queueRoom = limits.connectionQueueBytesMax / 2;
    while (
      this.sentEnd < target &&
      this.inflight.length < limits.inflightBatchesMax &&
      this.inflightBytes < limits.inflightBytesMax &&
      conn.queuedBytes < queueRoom
    ) {
      while (this.live.length > 0 && this.live[0].end <= this.sentEnd) this.liveBytes -= this.live.shift()!.frame.length;
      let frame: Uint8Array;
      let end: number;
      const next = this.live[0];
      if (next && next.first === this.sentEnd) {
        this.live.shift();
        this.liveBytes -= next.frame.length;
        frame = next.frame;
        end = next.end;
      } else {
        if (this.sentEnd >= logEnd) break; // the rest is only in live batches not yet offered in order
        const built = this.frameFromLog(this.sentEnd);
        frame = built.frame;
        end = built.end;
      }
      if (!conn.send(frame)) {
        this.host.log.warn("replication link to successor is congested; reconnecting", { successor: this.successorId });
        this.reset();
        return;
      }
      this.inflight.push({ end, bytes: frame.length });
      this.inflightBytes += frame.length;
      this.sentEnd = end;
    }
    this.flushDurable();
    this.flushCommit();
    if (this.host.forwardBeforeLocalWrite) conn.flushNow();
  }

  /** A catch-up read may end inside a live batch; that batch is then read from the log too. */
  private frameFromLog(from: number): { frame: Uint8Array; end: number } {
    // Read with room for the header in front: the batch goes out as read, not copied again.
    const { bytes: frame, count } = this.host.readRecords(from, this.host.limits.batchBytesMax, REPLICATE_HEADER_BYTES);
    writeReplicateHeader(dataView(frame), frame.length, this.host.chainId, this.host.epoch(), from, count);
    return { frame, end: from + count };
  }

  private committed(end: number): void {
    while (this.inflight.length > 0 && this.inflight[0].end <= end) this.inflightBytes -= this.inflight.shift()!.bytes;
    this.host.commitReported(end);
    this.pump();
  }

  private open(): void {
    if (this.stopped) return;
    const limits = { frameBytesMax: this.host.limits.frameBytesMax, queueBytesMax: this.host.limits.connectionQueueBytesMax };
    connect(this.address, limits, {
      frame: (conn, type, _id, frame) => this.frame(conn, type, frame),
      failed: (_conn, problem) => this.host.log.warn("replication link to the successor failed", { successor: this.successorId, problem }),
      closed: (conn) => {
        if (conn === this.conn) this.reset();
      },
      drained: () => this.pump(),
    }, this.tls()).then(
      (conn) => {
        if (this.stopped) return conn.close();
        this.conn = conn;
        conn.send(encodeHello(0, { version: PROTOCOL_VERSION, kind: PeerKind.replication, chainId: this.host.chainId, epoch: this.host.epoch(), commitEnd: this.host.commitEnd(), nodeId: this.host.nodeId, token: this.host.nodeToken }));
      },
      (e: Error) => {
        if (this.failures++ % 20 === 0) this.host.log.warn("cannot connect to the successor; retrying", { successor: this.successorId, error: e.message });
        this.scheduleRetry();
      },
    );
  }

  private tls(): ClientTls | undefined {
    const t = this.host.tls;
    if (!t || !t.ca) return undefined;
    return { ca: t.ca, cert: t.cert, key: t.key, serverName: this.successorId };
  }

  private frame(conn: Connection, type: number, frame: Uint8Array): void {
    try {
      if (type === FrameType.helloOk) return this.started(decodeHelloOk(frame));
      if (type === FrameType.commit) {
        const c = decodeWatermark(frame);
        if (c.chainId !== this.host.chainId || c.epoch !== this.host.epoch()) return; // from an older configuration
        return this.committed(c.offset);
      }
      if (type === FrameType.error) {
        const err = decodeError(frame);
        if (this.failures++ % 20 === 0) this.host.log.warn("successor refused replication", { successor: this.successorId, error: err.message });
        conn.close();
        return;
      }
      throw new CatenaError(ErrorCode.unknownFrameType, `unexpected frame type ${type} from successor`);
    } catch (e) {
      this.host.log.warn("bad frame from successor", { successor: this.successorId, error: (e as Error).message });
      conn.close();
    }
  }

  /** Checks the successor's log against ours before streaming (src/chain/handshake.ts). */
  private started(h: HelloOk): void {
    const ours = this.host.logEnd();
    const decision = decideHandshake(h, { logEnd: ours, crcAt: (offset) => this.host.entryCrc(offset) }, { successorSyncing: this.host.successorSyncing(), mayLoseCommitted: this.host.mayLoseCommitted });
    const fields = { successor: this.successorId, successorEnd: h.logEnd, successorCommitEnd: h.commitEnd, ourEnd: ours };
    switch (decision.kind) {
      case "truncate":
        this.host.log.warn("the successor holds entries the chain does not have; telling it to truncate them", { ...fields, truncateTo: decision.to, why: decision.why });
        this.conn?.send(encodeWatermark(FrameType.truncate, { chainId: this.host.chainId, epoch: this.host.epoch(), offset: decision.to }));
        return;
      case "lacks-committed":
        this.host.log.error("this node lacks committed entries its successor holds; asking the master to take it out of the chain so that it copies the log again", { ...fields, why: decision.why });
        this.host.lacksCommitted();
        this.conn?.close();
        return;
      case "refuse":
        this.host.log.error("refusing to replicate to the successor", { ...fields, why: decision.why });
        this.conn?.close();
        return;
      case "stream":
        this.failures = 0;
        this.streaming = true;
        this.sentEnd = decision.from;
        this.lastDurableSent = -1;
        this.lastCommitSent = -1;
        this.host.log.info("replicating to successor", { successor: this.successorId, from: decision.from, to: ours });
        this.pump();
    }
  }

  private reset(): void {
    this.streaming = false;
    this.conn?.destroy();
    this.conn = null;
    this.live = [];
    this.liveBytes = 0;
    this.inflight = [];
    this.inflightBytes = 0;
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.open();
    }, RECONNECT_MS);
  }
}
