// One node's replica of one chain: the log, its place in the chain, and the data path.
// Head: gathers every append that arrived in one event-loop turn into one batch, assigns offsets,
// frames the batch once, writes it and hands the same frame to the successor. Others: check each
// batch, write it, forward the same bytes. Commit follows the chain's durable watermark
// (src/chain/watermarks.ts): the tail learns it first, answers the appends (APPEND_OK to the
// client's registered connection) and reports the commit end back up the chain.

import { join } from "node:path";
import { batchRefusal, placeInLayout, servingRefusal, truncateDecision, upstreamRefusal, type Role } from "../chain/replica-rules.ts";
import { syncRules, type SyncRules } from "../chain/sync-policy.ts";
import { Watermarks, type WatermarkEffects } from "../chain/watermarks.ts";
import type { NodeConfig } from "../config/index.ts";
import type { Log } from "../log/log.ts";
import type { Observer } from "../metrics/histogram.ts";
import { CatenaError, ErrorCode } from "../protocol/errors.ts";
import { PROTOCOL_VERSION } from "../protocol/frame.ts";
import {
  FrameType, REPLICATE_HEADER_BYTES, encodeAppendOk, encodeEntries, encodeError, encodeHelloOk, encodeLatestOk, encodeWatermark,
  writeReplicateHeader, type AckRun, type Append, type Hello, type Read, type Replicate,
} from "../protocol/messages.ts";
import { RECORD_HEADER_BYTES, allocate, encodeRecordInto, getU32, getU64, iterateRecords, scanRecords } from "../protocol/record.ts";
import type { Connection } from "../transport/connection.ts";
import type { Logger } from "../util/logger.ts";
import { CommitFile } from "./commit-file.ts";
import { CommitTimer } from "./commit-timer.ts";
import { DedupTable } from "./dedup.ts";
import { Downstream } from "./downstream.ts";
import type { ChainLayout, MemberInfo } from "./layout.ts";
import { PendingAppends } from "./pending-appends.ts";

interface PendingAppend {
  conn: Connection;
  id: number;
  clientId: number;
  firstRequestId: number;
  payloads: Uint8Array[];
  bytes: number;
}

/** A retried append the head found already written: answered once its entries commit. */
interface DuplicateReply {
  conn: Connection;
  id: number;
  run: AckRun;
}

/** A batch written here and not yet committed, kept so the tail can answer its appends. */
interface RecentBatch {
  frame: Uint8Array;
  first: number;
  end: number;
}

export interface Subscription {
  conn: Connection;
  id: number;
  next: number;
  /** Ended by this replica (endSubscriptions): fed no more, and no longer keeps its connection busy. */
  ended?: boolean;
}

/** APPEND_OK frames stay small (24 bytes a run) however far the commit jumps. */
const ACK_RUNS_PER_FRAME_MAX = 4096;

/** How many committed entries (below the commit end) a new head reads back, besides every
 * uncommitted one, to rebuild its dedup table. */
const DEDUP_REBUILD_ENTRIES = 65_536;

export class Replica {
  epoch = 0;
  /** The last older epoch a layout came with, logged once (see ignoreOlderLayout). */
  private olderLayoutLogged = -1;
  role: Role = "none";
  predecessorId: string | null = null;
  private downstream: Downstream | null = null;
  private upstream: Connection | null = null;
  private readonly marks: Watermarks;
  private dedup = new DedupTable();
  /** The successor is a syncing node: it copies the log but does not count toward the commit. */
  private successorSyncing = false;
  /** Reads wait until the commit end is known in this epoch: a DURABLE from the predecessor
   * arrived and the commit end reached what the predecessor had committed (commitFloor). */
  private durableSeen = false;
  private commitFloor = 0;
  private lastSyncProgress = -1;
  /** Syncing: the chain's commit end as the predecessor (the tail) last sent it down. */
  private upstreamCommit = 0;
  private readonly commitFile: CommitFile;
  private batch: PendingAppend[] = [];
  private readonly pendingAppends: PendingAppends;
  private lacksCommittedEpoch = -1;
  /** Connections registered with watchAcks (for the idle check; dropped when they close). */
  private readonly watcherConnections = new Set<Connection>();
  private batchScheduled = false;
  /** performance.now() when the first append of the scheduled batch arrived. */
  private batchStartedMs = 0;
  private readonly commitTimer: CommitTimer;
  private readonly logger: Logger;
  private duplicates: DuplicateReply[] = [];
  private recent: RecentBatch[] = [];
  private recentBytes = 0;
  /** clientId -> the connection that asked for that client's APPEND_OK frames */
  private readonly ackWatchers = new Map<number, Connection>();
  private readonly subscriptions = new Set<Subscription>();
  readonly stats = { appends: 0, appendBytes: 0, batches: 0 };
  private readonly sync: SyncRules;

  constructor(
    readonly chainId: number,
    readonly log: Log,
    private readonly config: NodeConfig,
    logger: Logger,
    /** False once this node has not heard from the master for its lease. */
    private readonly hasLease: () => boolean = () => true,
    commitSeconds: Observer = { observe() {} },
  ) {
    this.logger = logger.child({ chain: chainId, epoch: () => this.epoch });
    this.sync = syncRules(config.log.sync);
    this.commitTimer = new CommitTimer(commitSeconds);
    this.marks = new Watermarks(false, false, 0);
    this.pendingAppends = new PendingAppends(config.limits.pendingAppendsMax);
    this.commitFile = new CommitFile(join(config.log.dir, `chain-${chainId}`));
    this.localProgress();
    log.onDurable = () => {
      if (this.sync.syncsEachAppend) this.localProgress();
    };
  }

  /** The commit end this node recorded before it last stopped (never above its log end). */
  get recordedCommit(): number {
    return Math.min(this.commitFile.value, this.log.endOffset);
  }

  get commitEnd(): number {
    return this.marks.commitEnd;
  }

  get isHead(): boolean {
    return this.role === "head" || this.role === "single";
  }

  get isTail(): boolean {
    return this.role === "tail" || this.role === "single";
  }

  /** In this epoch the successor was found to hold committed entries this log lacks. */
  get lacksCommitted(): boolean {
    return this.lacksCommittedEpoch === this.epoch;
  }

  /** The predecessor checked this log and streams to it in this epoch (see durableFromUpstream). */
  get upstreamChecked(): boolean {
    return this.durableSeen;
  }

  get downstreamConnected(): boolean {
    return this.downstream?.connected ?? false;
  }

  private ackableEnd(): number {
    return this.sync.ackableEnd(this.log);
  }

  // ---- configuration from the master -------------------------------------------------------------

  /** Takes this node's place in a new layout of the chain (an epoch of 0 with no members: none). */
  applyLayout(layout: ChainLayout): void {
    if (layout.epoch < this.epoch) return this.ignoreOlderLayout(layout.epoch);
    if (layout.epoch === this.epoch && this.role !== "none" && !layout.removed) return;
    this.epoch = layout.epoch;
    const place = placeInLayout(this.config.nodeId, layout.members.map((m) => m.id), layout.syncing?.id ?? null);
    const successor: MemberInfo | undefined = [...layout.members, ...(layout.syncing ? [layout.syncing] : [])].find((m) => m.id === place.successorId);
    this.successorSyncing = place.successorSyncing;
    this.predecessorId = place.predecessorId;
    const wasHead = this.isHead;
    this.role = place.role;
    this.durableSeen = false;
    this.commitFloor = 0;
    this.log.zeroFill = this.role !== "syncing";
    this.lastSyncProgress = -1;
    this.upstreamCommit = 0;
    // Every new epoch starts a fresh replication stream: the handshake re-learns where the
    // successor's log ends (it may be a different node, at a different address, or have lost an
    // unsynced tail), and the successor refuses streams from an older epoch.
    this.downstream?.stop();
    this.downstream = successor ? new Downstream(successor.id, successor.replicationAddr, this.downstreamHost()) : null;
    if (this.upstream && (this.isHead || !this.predecessorId)) {
      this.upstream.close();
      this.upstream = null;
    }
    if (this.isHead && !wasHead) this.rebuildDedup();
    if (wasHead && !this.isHead) this.demoted();
    // Out of the chain, no commits reach this replica any more: its subscribers would go silent.
    if (this.role === "none" || this.role === "syncing") this.endSubscriptions(`node ${this.config.nodeId} left chain ${this.chainId} (epoch ${this.epoch}); subscribe at the new tail`);
    this.logger.info("chain layout applied", { chain: this.chainId, epoch: this.epoch, role: this.role, successor: successor?.id ?? null, predecessor: this.predecessorId });
    this.apply(this.marks.reposition(this.isHead, this.isTail));
    // A new syncing successor hears the commit end at once, not only at the next commit.
    if (this.successorSyncing && this.isTail) this.downstream?.announceCommit(this.commitEnd);
    // Only the head knows its DURABLE value at once; any other node waits for its predecessor's
    // (durableFromUpstream). A placeholder (the minimum with an upstream value of 0) would let the
    // successor take "a DURABLE arrived" for "the commit end is known" and serve commit end 0.
    if (this.isHead) this.downstream?.announceDurable(this.marks.prefixDurable);
  }

  /** A master whose state is behind (restored from an old backup) hands out epochs this node has
   * passed; it adopts the nodes' epochs once they report them. Said once per epoch, never silent. */
  private ignoreOlderLayout(epoch: number): void {
    if (this.olderLayoutLogged === epoch) return;
    this.olderLayoutLogged = epoch;
    this.logger.warn(`the master's layout of chain ${this.chainId} has epoch ${epoch}, older than this node's ${this.epoch}: ignored until the master catches up (is its state file an old copy?)`);
  }

  /**
   * No longer head: nothing written here waits for its commit any more, and the retries held for
   * their originals are answered notHead, to be sent to the new head (which checks them against
   * its own log). Left waiting, one could be acknowledged at an offset this log later holds
   * another entry at, once the chain truncates what it did not commit.
   */
  private demoted(): void {
    this.pendingAppends.clear();
    const err = new CatenaError(ErrorCode.notHead, `node ${this.config.nodeId} stopped being the head of chain ${this.chainId}; send the append to the new head`);
    for (const d of this.duplicates) d.conn.send(encodeError(d.id, err));
    this.duplicates = [];
  }

  /** This node wrote or synced more: move the watermark; a syncing node reports its progress. */
  private localProgress(): void {
    const ackable = this.ackableEnd();
    this.apply(this.marks.localAdvanced(ackable));
    if (this.role === "syncing" && ackable > this.lastSyncProgress) {
      this.lastSyncProgress = ackable;
      this.sendCommitUp(ackable);
    }
  }

  private downstreamHost() {
    return {
      chainId: this.chainId,
      nodeId: this.config.nodeId,
      epoch: () => this.epoch,
      logEnd: () => this.log.endOffset,
      commitEnd: () => Math.max(this.commitEnd, this.recordedCommit),
      entryCrc: (offset: number) => this.entryCrc(offset),
      readRecords: (from: number, maxBytes: number, headroom: number) => this.log.readWithRoom(from, 1 << 30, maxBytes, headroom),
      successorSyncing: () => this.successorSyncing,
      commitReported: (end: number) => {
        // A syncing successor reports its progress, not a commit end.
        if (!this.successorSyncing) this.apply(this.marks.commitReported(end, this.log.endOffset));
      },
      limits: this.config.limits,
      log: this.logger,
      tls: this.config.tls,
      nodeToken: this.config.auth.node ?? "",
      mayLoseCommitted: !this.sync.durableAcks,
      forwardBeforeLocalWrite: this.sync.forwardBeforeLocalWrite,
      lacksCommitted: () => {
        this.lacksCommittedEpoch = this.epoch;
      },
    };
  }

  // ---- head: appends ---------------------------------------------------------------------------

  append(conn: Connection, id: number, a: Append): void {
    if (!this.isHead) throw new CatenaError(ErrorCode.notHead, `node ${this.config.nodeId} is not the head of chain ${this.chainId}`);
    const limits = this.config.limits;
    let bytes = 0;
    let largest = 0;
    for (const p of a.payloads) {
      bytes += p.length;
      if (p.length > largest) largest = p.length;
    }
    if (bytes > limits.appendBytesMax) {
      throw new CatenaError(ErrorCode.appendTooLarge, `append of ${bytes} bytes exceeds the limit of ${limits.appendBytesMax} bytes; nothing was written`);
    }
    if (largest + RECORD_HEADER_BYTES > limits.recordBytesMax) {
      throw new CatenaError(ErrorCode.appendTooLarge, `a payload of ${largest} bytes exceeds the record limit of ${limits.recordBytesMax - RECORD_HEADER_BYTES} bytes; nothing was written`);
    }
    // Every entry also costs a record header; the whole request must fit in one batch.
    if (bytes + a.payloads.length * RECORD_HEADER_BYTES > limits.batchBytesMax) {
      throw new CatenaError(ErrorCode.appendTooLarge, `${a.payloads.length} entries of ${bytes} bytes in all exceed the batch limit of ${limits.batchBytesMax} bytes with their headers; nothing was written`);
    }
    const held = this.heldRuns(a.clientId, a.firstRequestId, a.payloads.length);
    if (held === null) throw new CatenaError(ErrorCode.requestTooOld, `request ${a.firstRequestId} is too old to be checked for duplicates`);
    const heldCount = this.answerHeld(conn, id, held);
    if (heldCount === a.payloads.length) return;
    const rest = heldCount === 0 ? a.payloads : a.payloads.slice(heldCount);
    if (!this.pendingAppends.admit(conn, rest.length)) {
      throw new CatenaError(ErrorCode.overloaded, `this connection already has ${limits.pendingAppendsMax} appends waiting for their commit (limits.pending_appends_max); wait for acknowledgements, then send more`);
    }
    // Payloads are views into the received chunk: copy them, they are written on the next turn.
    const payloads = rest.map((p) => p.slice());
    const restBytes = heldCount === 0 ? bytes : payloads.reduce((n, p) => n + p.length, 0);
    this.batch.push({ conn, id, clientId: a.clientId, firstRequestId: a.firstRequestId + heldCount, payloads, bytes: restBytes + payloads.length * RECORD_HEADER_BYTES });
    this.scheduleBatch();
  }

  private scheduleBatch(): void {
    if (this.batchScheduled) return;
    this.batchScheduled = true;
    this.batchStartedMs = performance.now();
    setImmediate(this.writeBatches);
  }

  private readonly writeBatches = (): void => {
    this.batchScheduled = false;
    const startedMs = this.batchStartedMs;
    const gathered = this.batch;
    this.batch = [];
    // Checked once per batch, just before writing: nothing is written without the lease.
    const refusal = !this.isHead
      ? new CatenaError(ErrorCode.notHead, `node ${this.config.nodeId} stopped being the head of chain ${this.chainId}`)
      : !this.hasLease()
        ? new CatenaError(ErrorCode.unavailable, `node ${this.config.nodeId} has lost contact with the master and may no longer be the head`)
        : null;
    if (refusal) {
      for (const p of gathered) {
        this.pendingAppends.release(p.conn, p.payloads.length);
        p.conn.send(encodeError(p.id, refusal));
      }
      return;
    }
    // A retry may have arrived in the same turn as its original: check again before writing.
    const pending: PendingAppend[] = [];
    const written = new Map<number, Set<number>>();
    for (let p of gathered) {
      const held = this.heldRuns(p.clientId, p.firstRequestId, p.payloads.length) ?? [];
      const heldCount = this.answerHeld(p.conn, p.id, held);
      if (heldCount > 0) {
        this.pendingAppends.release(p.conn, heldCount);
        if (heldCount === p.payloads.length) continue;
        const payloads = p.payloads.slice(heldCount);
        p = { ...p, firstRequestId: p.firstRequestId + heldCount, payloads, bytes: payloads.reduce((n, x) => n + x.length + RECORD_HEADER_BYTES, 0) };
      }
      const ids = written.get(p.clientId);
      if (ids?.has(p.firstRequestId)) {
        this.batch.push(p); // its original is in this batch: answer it as a duplicate next turn
        continue;
      }
      if (ids) ids.add(p.firstRequestId);
      else written.set(p.clientId, new Set([p.firstRequestId]));
      pending.push(p);
    }
    if (this.batch.length > 0) this.scheduleBatch();
    let start = 0;
    while (start < pending.length) {
      let end = start;
      let bytes = 0;
      do bytes += pending[end++].bytes;
      while (end < pending.length && bytes + pending[end].bytes <= this.config.limits.batchBytesMax);
      this.writeBatch(pending, start, end, bytes, startedMs);
      start = end;
    }
    this.replyDuplicates();
  };

  private writeBatch(pending: PendingAppend[], start: number, end: number, recordBytes: number, startedMs: number): void {
    const { bytes: frame, dv } = allocate(REPLICATE_HEADER_BYTES + recordBytes);
    const first = this.log.endOffset;
    let offset = first;
    let pos = REPLICATE_HEADER_BYTES;
    for (let i = start; i < end; i++) {
      const p = pending[i];
      for (let k = 0; k < p.payloads.length; k++) pos = encodeRecordInto(frame, dv, pos, offset++, p.clientId, p.firstRequestId + k, p.payloads[k]);
    }
    writeReplicateHeader(dv, frame.length, this.chainId, this.epoch, first, offset - first);
    // A log that takes no writes now (failed, closing) refuses the batch before any of it is
    // forwarded, so "nothing was written" is true.
    const refusal = this.log.writeRefusal;
    if (refusal) return this.refuseBatch(pending, start, end, `node ${this.config.nodeId} could not write to its log, so nothing was written: ${refusal}`);
    try {
      this.stored(frame, first, offset);
    } catch (e) {
      // The write failed after the batch was forwarded (the head forwards first): the successor
      // may hold it. A new stream makes the handshake drop what this log lacks; the entries may
      // still commit if the successor takes over as head, so the clients are told they may have
      // been written, and a resend with the same request ids is written at most once.
      this.restartDownstream();
      return this.refuseBatch(pending, start, end, `node ${this.config.nodeId} could not write to its log after forwarding the entries, so they may or may not have been written; send them again with the same request ids (each is written at most once): ${(e as Error).message}`);
    }
    offset = first;
    for (let i = start; i < end; i++) {
      const p = pending[i];
      this.dedup.record(p.clientId, p.firstRequestId, offset, p.payloads.length);
      offset += p.payloads.length;
      this.pendingAppends.wrote(p.conn, p.payloads.length, offset);
    }
    this.commitTimer.written(offset, startedMs);
  }

  /** Answers every append of pending[start, end) with `message`: none of them is remembered as written. */
  private refuseBatch(pending: PendingAppend[], start: number, end: number, message: string): void {
    const err = new CatenaError(ErrorCode.unavailable, message);
    for (let i = start; i < end; i++) {
      this.pendingAppends.release(pending[i].conn, pending[i].payloads.length);
      pending[i].conn.send(encodeError(pending[i].id, err));
    }
  }

  /** A new stream to the same successor: its handshake checks the successor's log against this one. */
  private restartDownstream(): void {
    if (!this.downstream) return;
    const { successorId, address } = this.downstream;
    this.downstream.stop();
    this.downstream = new Downstream(successorId, address, this.downstreamHost());
    // The effects above went to the stream just stopped: the new one announces DURABLE too
    // (once this epoch's value from the predecessor is known, as everywhere: see applyLayout).
    if (this.isHead || this.durableSeen) this.downstream.announceDurable(this.marks.prefixDurable);
  }

  /** A batch is in the local log: forward it and move the watermark. */
  private stored(frame: Uint8Array, first: number, end: number): void {
    // Forward first, then write: the successor's work overlaps this node's disk write. Safe,
    // because nothing counts toward the commit until it is written (and synced) everywhere.
    // (Under "interval" and "none" the frame leaves at the end of the job, with its DURABLE.)
    this.downstream?.offer(frame, first, end);
    this.log.append(frame, REPLICATE_HEADER_BYTES, frame.length, end - first);
    if (this.recentBytes + frame.length <= this.config.limits.inflightBytesMax) {
      this.recent.push({ frame, first, end });
      this.recentBytes += frame.length;
    }
    this.stats.appends += end - first;
    this.stats.appendBytes += frame.length - REPLICATE_HEADER_BYTES;
    this.stats.batches++;
    if (this.upstreamCommit > 0) this.recordCopiedCommit();
    if (!this.sync.syncsEachAppend) this.localProgress();
  }

  // ---- replication from the predecessor ----------------------------------------------------------

  /** A predecessor opened a replication stream. */
  acceptUpstream(conn: Connection, id: number, hello: Hello): void {
    const refusal = upstreamRefusal(this.config.nodeId, this.epoch, this.predecessorId, hello);
    if (refusal) throw refusal;
    if (this.upstream && this.upstream !== conn) this.upstream.close();
    this.upstream = conn;
    this.commitFloor = Math.max(this.commitFloor, hello.commitEnd);
    conn.send(this.describeLog(id));
    if (this.role !== "syncing") this.sendCommitUp(this.commitEnd);
  }

  /** HELLO_OK for the predecessor: where this log ends and what it had recorded as committed. */
  private describeLog(id: number): Uint8Array {
    const logEnd = this.log.endOffset;
    const commitEnd = Math.max(this.recordedCommit, Math.min(this.commitEnd, logEnd));
    return encodeHelloOk(id, {
      version: PROTOCOL_VERSION,
      logEnd,
      lastCrc: logEnd > 0 ? (this.entryCrc(logEnd - 1) ?? 0) : 0,
      commitEnd,
      commitCrc: commitEnd > 0 ? (this.entryCrc(commitEnd - 1) ?? 0) : 0,
    });
  }

  private entryCrc(offset: number): number | null {
    if (offset < this.log.startOffset || offset >= this.log.endOffset) return null;
    const got = this.log.read(offset, 1, 1);
    return got.count === 1 ? getU32(got.bytes, 4) : null;
  }

  /** The predecessor found entries here that the chain does not have: drop them, then describe the log again. */
  async truncate(conn: Connection, epoch: number, offset: number): Promise<void> {
    if (conn !== this.upstream || epoch !== this.epoch) return;
    const committed = Math.max(this.commitEnd, this.recordedCommit);
    const decision = truncateDecision(offset, committed, this.role);
    if (decision.kind === "refuse") throw decision.error;
    if (decision.lowerCommitTo !== null) {
      // The chain went on from a log that lacks what this node had recorded as committed: recopy.
      this.logger.warn("dropping entries recorded as committed that the chain no longer has", { chain: this.chainId, from: offset, recordedCommit: committed });
      this.commitFile.lower(offset);
      this.marks.commitLowered(offset);
    }
    const before = this.log.endOffset;
    this.recent = [];
    this.recentBytes = 0;
    await this.log.truncateFrom(offset);
    // Everything derived from the dropped entries goes too: the watermark, the progress reported
    // upstream, and what was already forwarded downstream.
    this.apply(this.marks.localTruncated(this.ackableEnd()));
    this.lastSyncProgress = -1;
    this.upstreamCommit = Math.min(this.upstreamCommit, offset);
    this.restartDownstream();
    // A syncing node is told this for entries it could not show to be the chain's (above its
    // recorded commit end): they are copied again, which is routine, not a fault.
    const fields = { chain: this.chainId, from: offset, droppedTo: before };
    if (this.role === "syncing") this.logger.info("dropped entries the predecessor could not confirm as the chain's; copying them again", fields);
    else this.logger.warn("truncated entries the chain does not have", fields);
    if (conn === this.upstream && conn.isOpen) conn.send(this.describeLog(0));
  }

  isUpstream(conn: Connection): boolean {
    return conn === this.upstream;
  }

  replicate(conn: Connection, frame: Uint8Array, r: Replicate): void {
    if (conn !== this.upstream) throw new CatenaError(ErrorCode.staleEpoch, "replication from a node that is not this node's predecessor");
    const refusal = batchRefusal(this.chainId, this.epoch, this.log.endOffset, r);
    if (refusal) throw refusal;
    const scan = scanRecords(frame, r.recordsStart, frame.length, r.firstOffset, this.config.limits.recordBytesMax);
    if (!scan.ok || scan.count !== r.count) {
      throw new CatenaError(ErrorCode.badFrame, `replication batch at offset ${r.firstOffset} failed its check: ${scan.ok ? `holds ${scan.count} records, header says ${r.count}` : scan.problem}`);
    }
    this.stored(frame, r.firstOffset, scan.nextOffset);
  }

  durableFromUpstream(conn: Connection, epoch: number, end: number): void {
    if (conn !== this.upstream || epoch < this.epoch) return;
    const first = !this.durableSeen;
    this.durableSeen = true;
    this.apply(this.marks.upstreamAdvanced(end));
    // The first value of this epoch goes down even when it did not move the watermark.
    if (first) this.downstream?.announceDurable(this.marks.prefixDurable);
  }

  /**
   * A syncing node hears the chain's commit end from the tail it copies from. Everything it holds
   * came from that tail's stream in this epoch (the handshake dropped what was unchecked), so what
   * lies below the commit end is committed: it is recorded, and kept at the next handshake.
   */
  commitFromUpstream(conn: Connection, epoch: number, end: number): void {
    if (conn !== this.upstream || epoch !== this.epoch || this.role !== "syncing") return;
    if (end > this.upstreamCommit) this.upstreamCommit = end;
    this.recordCopiedCommit();
  }

  private recordCopiedCommit(): void {
    if (this.role === "syncing" && this.upstreamCommit > 0) this.commitFile.advance(Math.min(this.upstreamCommit, this.log.endOffset));
  }

  upstreamClosed(conn: Connection): void {
    if (conn === this.upstream) this.upstream = null;
  }

  private sendCommitUp(end: number): void {
    this.upstream?.send(encodeWatermark(FrameType.commit, { chainId: this.chainId, epoch: this.epoch, offset: end }));
  }

  private apply(effects: WatermarkEffects): void {
    // Not before this epoch's DURABLE from the predecessor: see applyLayout.
    if (effects.durableDown !== undefined && (this.isHead || this.durableSeen)) this.downstream?.announceDurable(effects.durableDown);
    if (effects.committed !== undefined) this.committed(effects.committedFrom!, effects.committed);
  }

  private committed(from: number, to: number): void {
    this.commitTimer.committed(to, performance.now());
    this.commitFile.advance(to);
    if (this.successorSyncing) this.downstream?.announceCommit(to);
    this.pendingAppends.committed(to);
    if (this.isTail) this.acknowledge(from, to);
    while (this.recent.length > 0 && this.recent[0].end <= to) this.recentBytes -= this.recent.shift()!.frame.length;
    if (!this.isHead) this.sendCommitUp(to);
    this.replyDuplicates();
    for (const sub of this.subscriptions) this.feed(sub);
  }

  // ---- tail: acknowledgements ------------------------------------------------------------------

  /** A client's connection asks for APPEND_OK frames for its entries (sent by the tail). */
  watchAcks(conn: Connection, clientId: number): void {
    this.ackWatchers.set(clientId, conn);
    this.watcherConnections.add(conn);
  }

  /** The connection waits for something from this replica: commits of its appends, or acks. */
  waitsFor(conn: Connection): boolean {
    return this.pendingAppends.has(conn) || this.watcherConnections.has(conn);
  }

  /** Sends APPEND_OK for every entry in [from, to) to the connection watching its client. */
  private acknowledge(from: number, to: number): void {
    if (this.ackWatchers.size === 0) return;
    const runs = new Map<number, AckRun[]>();
    let last: AckRun | null = null;
    let lastClient = -1;
    const visit = (bytes: Uint8Array, start: number, end: number): number => {
      let pos = start;
      let offset = from;
      while (pos < end) {
        const total = getU32(bytes, pos);
        offset = getU64(bytes, pos + 8);
        if (offset >= to) break;
        if (offset >= from) {
          const clientId = getU64(bytes, pos + 16);
          const requestId = getU64(bytes, pos + 24);
          if (clientId === lastClient && last && last.firstRequestId + last.count === requestId && last.firstOffset + last.count === offset) last.count++;
          else if (this.ackWatchers.has(clientId)) {
            last = { firstRequestId: requestId, firstOffset: offset, count: 1 };
            lastClient = clientId;
            const list = runs.get(clientId);
            if (list) list.push(last);
            else runs.set(clientId, [last]);
          } else {
            last = null;
            lastClient = -1;
          }
        }
        pos += total;
      }
      return offset;
    };
    let next = from;
    for (const b of this.recent) {
      if (b.end <= next) continue;
      if (b.first > next) break;
      visit(b.frame, REPLICATE_HEADER_BYTES, b.frame.length);
      next = Math.min(b.end, to);
      if (next >= to) break;
    }
    while (next < to) {
      // Not in memory (a catch-up batch, or more than the window): read it back from the log.
      const got = this.log.read(next, to - next, this.config.limits.readBytesMax);
      if (got.count === 0) break;
      visit(got.bytes, 0, got.bytes.length);
      next = got.nextOffset;
    }
    for (const [clientId, list] of runs) {
      const conn = this.ackWatchers.get(clientId)!;
      for (let i = 0; i < list.length; i += ACK_RUNS_PER_FRAME_MAX) conn.send(encodeAppendOk(0, list.slice(i, i + ACK_RUNS_PER_FRAME_MAX)));
    }
  }

  /**
   * The runs of a request's entries this head already holds, from its first id on, or null when
   * the request is too old to tell. A retry finds all of them or none — or, when a power loss cut
   * the request short before it was acknowledged, only the first ones: the rest is written again,
   * after whatever the log holds now.
   */
  private heldRuns(clientId: number, firstRequestId: number, count: number): AckRun[] | null {
    const first = this.dedup.check(clientId, firstRequestId);
    if (first.kind === "tooOld") return null;
    if (first.kind === "new") return [];
    if (count > 1) {
      const last = this.dedup.check(clientId, firstRequestId + count - 1);
      if (last.kind === "duplicate" && last.firstOffset === first.firstOffset + count - 1) return [{ firstRequestId, firstOffset: first.firstOffset, count }];
    }
    const runs: AckRun[] = [{ firstRequestId, firstOffset: first.firstOffset, count: 1 }];
    for (let i = 1; i < count; i++) {
      const seen = this.dedup.check(clientId, firstRequestId + i);
      if (seen.kind !== "duplicate") break;
      const run = runs[runs.length - 1];
      if (run.firstOffset + run.count === seen.firstOffset) run.count++;
      else runs.push({ firstRequestId: firstRequestId + i, firstOffset: seen.firstOffset, count: 1 });
    }
    return runs;
  }

  /** Queues APPEND_OK for the held runs (sent once they are committed); returns how many entries they cover. */
  private answerHeld(conn: Connection, id: number, runs: AckRun[]): number {
    let count = 0;
    for (const run of runs) {
      this.duplicates.push({ conn, id, run });
      count += run.count;
    }
    if (runs.length > 0) this.replyDuplicates();
    return count;
  }

  private replyDuplicates(): void {
    if (this.duplicates.length === 0) return;
    const commit = this.marks.commitEnd;
    this.duplicates = this.duplicates.filter((d) => {
      if (d.run.firstOffset + d.run.count > commit) return true;
      d.conn.send(encodeAppendOk(d.id, [d.run]));
      return false;
    });
  }

  // ---- reads ---------------------------------------------------------------------------------

  /** Committed entries from `q.from`; an empty reply at the commit end, an error beyond it. */
  read(id: number, q: Read): Uint8Array {
    const commit = this.commitEnd;
    this.checkReadable(q.from);
    const maxEntries = Math.min(q.maxEntries, commit - q.from);
    if (maxEntries === 0) return encodeEntries(FrameType.readOk, id, this.log.startOffset, commit, 0, new Uint8Array(0));
    const got = this.log.read(q.from, maxEntries, Math.min(q.maxBytes, this.config.limits.readBytesMax));
    return encodeEntries(FrameType.readOk, id, this.log.startOffset, commit, got.count, got.bytes);
  }

  latest(id: number): Uint8Array {
    this.checkServing();
    return encodeLatestOk(id, { startOffset: this.log.startOffset, commitEnd: this.commitEnd, logEnd: this.log.endOffset });
  }

  subscribe(conn: Connection, id: number, from: number): Subscription {
    this.checkReadable(from);
    const sub: Subscription = { conn, id, next: from };
    this.subscriptions.add(sub);
    this.feed(sub);
    return sub;
  }

  unsubscribe(sub: Subscription): void {
    this.subscriptions.delete(sub);
  }

  /** Ends every subscription with notServing, so its client resubscribes where the chain is. */
  endSubscriptions(why: string): void {
    if (this.subscriptions.size === 0) return;
    const err = new CatenaError(ErrorCode.notServing, why);
    for (const sub of this.subscriptions) {
      sub.ended = true;
      sub.conn.send(encodeError(sub.id, err));
    }
    this.subscriptions.clear();
  }

  /** Called every heartbeat period: a replica cut off from the master may have been removed from
   * its chain without hearing of it, and its subscribers would wait in silence. */
  checkLease(): void {
    if (!this.hasLease()) this.endSubscriptions(`node ${this.config.nodeId} has lost contact with the master; subscribe again once the chain is reachable`);
  }

  /** Sends committed entries to a subscriber while its connection has room; resumed on drain. */
  feed(sub: Subscription): void {
    if (sub.ended) return;
    const half = this.config.limits.connectionQueueBytesMax / 2;
    while (sub.next < this.commitEnd && sub.conn.isOpen && sub.conn.queuedBytes < half) {
      const commit = this.commitEnd;
      const got = this.log.read(sub.next, commit - sub.next, this.config.limits.readBytesMax);
      if (got.count === 0) break;
      sub.conn.send(encodeEntries(FrameType.entries, sub.id, this.log.startOffset, commit, got.count, got.bytes));
      sub.next = got.nextOffset;
    }
  }

  private checkReadable(from: number): void {
    this.checkServing();
    const start = this.log.startOffset;
    const commit = this.commitEnd;
    if (from < start || from > commit) {
      throw new CatenaError(ErrorCode.offsetOutOfRange, `offset ${from} is outside the readable range [${start}, ${commit}]`, start, commit);
    }
  }

  /** Only the current tail, knowing the commit end of its epoch, serves (src/chain/replica-rules.ts). */
  private checkServing(): void {
    const refusal = servingRefusal({
      nodeId: this.config.nodeId,
      chainId: this.chainId,
      role: this.role,
      hasLease: this.hasLease(),
      durableSeen: this.durableSeen,
      commitEnd: this.commitEnd,
      commitFloor: this.commitFloor,
      recordedCommit: this.recordedCommit,
    });
    if (refusal) throw refusal;
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /**
   * A client sends again only appends it has not seen acknowledged: entries above the commit end,
   * or just below it (acknowledgements in flight when the old head or tail failed). So the table
   * is rebuilt from every entry not known committed plus DEDUP_REBUILD_ENTRIES below the commit
   * end — however large the replication window let the uncommitted part grow.
   */
  private rebuildDedup(): void {
    this.dedup = new DedupTable();
    const committed = Math.min(this.log.endOffset, Math.max(this.commitEnd, this.recordedCommit));
    let from = Math.max(this.log.startOffset, committed - DEDUP_REBUILD_ENTRIES);
    while (from < this.log.endOffset) {
      const got = this.log.read(from, DEDUP_REBUILD_ENTRIES, 4 << 20);
      for (const r of iterateRecords(got.bytes)) this.dedup.record(r.clientId, r.requestId, r.offset);
      if (got.count === 0) break;
      from = got.nextOffset;
    }
  }

  connectionClosed(conn: Connection): void {
    for (const sub of this.subscriptions) if (sub.conn === conn) this.subscriptions.delete(sub);
    for (const [clientId, c] of this.ackWatchers) if (c === conn) this.ackWatchers.delete(clientId);
    this.watcherConnections.delete(conn);
    this.pendingAppends.forget(conn);
  }

  async close(): Promise<void> {
    // Never keeps the log open: a node reopening a failed log must not hold the old files.
    this.commitFile.flushIfPossible();
    this.downstream?.stop();
    this.upstream?.close();
    await this.log.close();
  }
}
