// The durable, segmented, append-only log of one node. Appends are written synchronously to the
// page cache; durability comes later, per the sync policy, and is reported through `durableEnd`
// and `onDurable`. Only offsets below `durableEnd` have been fdatasynced.

import fs from "node:fs";
import { RECORD_HEADER_BYTES, getU64 } from "../protocol/record.ts";
import { type PreparedFile, type ZeroPacing, discardPrepared, preallocate, preallocateSync } from "./files.ts";
import { type LogOptions, LogRangeError, checkOptions, isSystemError } from "./options.ts";
import { CursorCache, readRecords } from "./read.ts";
import { type RecoveryReport, recoverSegments } from "./recovery.ts";
import { Segment, type SegmentLimits } from "./segment.ts";
import { syncRules, type SyncRules } from "../chain/sync-policy.ts";
import { type FdatasyncFn, GroupCommit, type SyncRound } from "./sync.ts";

export { type LogOptions, LogRangeError, type SyncPolicy } from "./options.ts";
export type { RecoveryReport } from "./recovery.ts";

/** Enough cursors for a handful of subscribers and a downstream node reading at once. */
const CURSORS_MAX = 8;
const SCRATCH_BYTES = 64 * 1024;
/** Zeros for the next segment go in chunks of this size, each synced at once (see ZeroPacing). */
const ZERO_CHUNK_BYTES = 64 * 1024;
/** At least this long between two chunks: zeros take at most 64 KiB per millisecond of the disk. */
const ZERO_PAUSE_MS = 1;
/** How far the zeroing may run ahead of the active segment's writes, as a fraction of a segment. */
const ZERO_LEAD = 1 / 8;
const PREPARE_STOPPED = new Error("preparing the next segment stopped");
/** Sealed segments whose sparse index stays in memory (the ones read last); the others' indexes
 * are read back from their files when needed, so memory does not grow with the log. */
const SEALED_INDEXES_KEPT = 8;

type State = "open" | "truncating" | "closing" | "closed";

/**
 * A sync round over at most this many unsynced bytes runs on the event loop: it blocks the loop for
 * one small fdatasync (0.1–0.3 ms here) and saves the hand-off to a pool thread and back (about
 * 0.05 ms). Bigger rounds (a node copying the log writes megabytes per round) go to the thread pool,
 * so that the loop goes on receiving while the disk works.
 */
const SYNC_ON_LOOP_BYTES_MAX = 256 * 1024;

/** A sync call made right here, its callback called at once. */
function onEventLoop(sync: (fd: number) => void): FdatasyncFn {
  return (fd, callback) => {
    let failure: NodeJS.ErrnoException | null = null;
    try {
      sync(fd);
    } catch (err) {
      failure = err as NodeJS.ErrnoException;
    }
    callback(failure);
  };
}
const fdatasyncOnLoop = onEventLoop(fs.fdatasyncSync);
const fsyncOnLoop = onEventLoop(fs.fsyncSync);

export class Log {
  /** Called whenever durableEnd advances (a sync round finished, including the one at close). */
  onDurable: (durableEnd: number) => void = () => {};
  /** Called once when a write or fsync fails; the log then refuses appends. */
  onFailure: (err: Error) => void = () => {};

  private durable: number;
  private failure: Error | null = null;
  private state: State = "open";
  /** A segment was named since the directory was last fsynced. */
  private dirDirty = false;
  private zeroFilled = true;

  /**
   * Whether new segment files are zero-filled before use (the default). A replica copying the log
   * from its chain turns it off: its writes come in large batches, so the block allocation the
   * zeros would save its fdatasyncs costs little, while writing the zeros doubles its disk writes.
   */
  get zeroFill(): boolean {
    return this.zeroFilled;
  }

  set zeroFill(on: boolean) {
    this.zeroFilled = on;
    this.wakeZeroing();
  }
  private prepared: PreparedFile | null = null;
  /** The paced zeroing of the next segment, waiting for the active segment to fill further. */
  private zeroWaiter: (() => void) | null = null;
  private preparing: Promise<void> | null = null;
  private prepareFailed = false;
  private truncation: Promise<void> | null = null;
  private readonly commits: GroupCommit;
  private readonly timer: ReturnType<typeof setInterval> | null = null;
  private readonly cursors = new CursorCache(CURSORS_MAX);
  private readonly scratch = new Uint8Array(SCRATCH_BYTES);
  private readonly limits: SegmentLimits;
  private readonly rules: SyncRules;
  /** Sealed segments with their index in memory, the one read last at the end. */
  private readonly indexed: Segment[] = [];

  private constructor(
    private readonly opts: LogOptions,
    private readonly dirFd: number,
    private readonly segments: Segment[],
    readonly recovery: RecoveryReport,
  ) {
    this.limits = { indexIntervalBytes: opts.indexIntervalBytes, recordBytesMax: opts.recordBytesMax };
    this.rules = syncRules(opts.sync);
    this.durable = this.endOffset;
    for (const segment of segments.slice(0, -1)) {
      segment.sealIndex();
      this.indexUsed(segment);
    }
    this.commits = new GroupCommit(() => this.nextRound(), (err) => this.fail(err));
    if (opts.sync === "interval") {
      this.timer = setInterval(() => this.syncIfBehind(), opts.syncIntervalMs);
      this.timer.unref();
    }
    this.prepareNext();
  }

  /** Opens (creating if needed) the log in opts.dir and recovers it; see `recovery` for what was cut. */
  static async open(opts: LogOptions): Promise<Log> {
    checkOptions(opts);
    fs.mkdirSync(opts.dir, { recursive: true });
    const dirFd = fs.openSync(opts.dir, "r");
    try {
      const limits = { indexIntervalBytes: opts.indexIntervalBytes, recordBytesMax: opts.recordBytesMax };
      const { segments, report } = recoverSegments(opts.dir, limits, opts.verifySealed ?? true);
      // A last segment file cut short (a crash before preallocation finished, or a file truncated
      // by hand) and holding no records is replaced by a full-size one at the same base.
      const last = segments[segments.length - 1];
      if (last && last.capacity < opts.segmentBytes) {
        // Segments are preallocated to full size before use, so a shorter last file was cut,
        // wherever the cut fell (after its records, or inside them with zeros left behind).
        const cut = `${last.path}: the file is ${last.capacity} bytes, shorter than a segment (${opts.segmentBytes}); anything written past it was lost`;
        report.problem = report.problem ? `${report.problem}; ${cut}` : cut;
      }
      if (last && last.writePos === 0 && last.capacity < opts.segmentBytes) {
        segments.pop();
        last.remove();
        segments.push(Segment.install(opts.dir, last.base, preallocateSync(opts.dir, opts.segmentBytes), limits));
        fs.fsyncSync(dirFd);
      }
      if (segments.length === 0) {
        segments.push(Segment.install(opts.dir, 0, preallocateSync(opts.dir, opts.segmentBytes), limits));
        fs.fsyncSync(dirFd);
        report.segments = 1;
      }
      return new Log(opts, dirFd, segments, report);
    } catch (err) {
      fs.closeSync(dirFd);
      throw err;
    }
  }

  get startOffset(): number {
    return this.segments[0].base;
  }

  get endOffset(): number {
    return this.active.endOffset;
  }

  get durableEnd(): number {
    return this.durable;
  }

  get bytes(): number {
    return this.segments.reduce((sum, segment) => sum + segment.writePos, 0);
  }

  /** Segments whose sparse index is in memory: the active one and at most 8 sealed ones. */
  get indexesInMemory(): number {
    return this.segments.filter((segment) => segment.indexLoaded).length;
  }

  /** The next segment file is ready (zero-filled and synced) for the next roll. */
  get nextSegmentReady(): boolean {
    return this.prepared !== null;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1];
  }

  /**
   * Appends already-encoded, already-checked records bytes[start, end), `count` of them, the first
   * at offset endOffset. Written synchronously to the page cache; `bytes` is not kept.
   */
  append(bytes: Uint8Array, start: number, end: number, count: number): void {
    this.assertWritable();
    const length = end - start;
    if (length < RECORD_HEADER_BYTES || length > this.opts.segmentBytes) {
      throw new Error(`log append of ${length} bytes: must be in [${RECORD_HEADER_BYTES}, segmentBytes = ${this.opts.segmentBytes}]`);
    }
    const first = getU64(bytes, start + 8);
    if (first !== this.endOffset) throw new Error(`log append starts at offset ${first}, the log ends at ${this.endOffset}`);
    try {
      const segment = this.active.writePos + length > this.active.capacity ? this.roll() : this.active;
      segment.append(bytes, start, end, count);
    } catch (err) {
      if (isSystemError(err)) this.fail(err);
      throw err;
    }
    this.wakeZeroing();
    this.prepareNext();
    if (this.rules.syncsEachAppend) this.commits.request();
  }

  /**
   * Whole records from `from`: at most maxEntries records and maxBytes bytes, but at least one
   * record when from < endOffset. A read stops at the end of a segment. The bytes are a fresh copy.
   */
  read(from: number, maxEntries: number, maxBytes: number): { bytes: Uint8Array; count: number; nextOffset: number } {
    return this.readWithRoom(from, maxEntries, maxBytes, 0);
  }

  /** Like read, but `bytes` starts with `headroom` free bytes before the records (for a frame
   * header), and the read is done in one go: for a catch-up batch, sent without another copy. */
  readWithRoom(from: number, maxEntries: number, maxBytes: number, headroom: number): { bytes: Uint8Array; count: number; nextOffset: number } {
    if (this.state === "closed") throw new Error("log read after close");
    if (!(maxEntries >= 1)) throw new Error(`log read with maxEntries = ${maxEntries}: must be at least 1`);
    if (!(from >= this.startOffset && from <= this.endOffset)) throw new LogRangeError(from, this.startOffset, this.endOffset);
    if (from === this.endOffset) return { bytes: new Uint8Array(headroom), count: 0, nextOffset: from };
    const { segment, pos } = this.locate(from);
    const got = readRecords(segment, pos, maxEntries, maxBytes, headroom);
    const nextOffset = from + got.count;
    this.cursors.remember(nextOffset, segment, got.endPos);
    return { bytes: got.bytes, count: got.count, nextOffset };
  }

  /** Drops every record at offset >= `offset`, zeroing the dropped bytes on disk, and fsyncs. */
  async truncateFrom(offset: number): Promise<void> {
    this.assertWritable();
    if (!(offset >= this.startOffset && offset <= this.endOffset)) throw new LogRangeError(offset, this.startOffset, this.endOffset);
    if (offset === this.endOffset) return;
    this.state = "truncating";
    this.truncation = this.truncateWhenIdle(offset);
    try {
      await this.truncation;
    } finally {
      this.truncation = null;
      if (this.state === "truncating") this.state = "open";
    }
    if (this.rules.syncsEachAppend && this.state === "open") this.commits.request();
  }

  private async truncateWhenIdle(offset: number): Promise<void> {
    // A round in flight would report its (now dropped) end as durable when it finishes.
    while (this.commits.busy) await this.commits.idle();
    if (this.failure) throw this.failure;
    try {
      this.dropFrom(offset);
    } catch (err) {
      if (isSystemError(err)) this.fail(err);
      throw err;
    }
  }

  /** Per segment file, the byte position known to be fdatasynced. Needs opts.trackSynced. */
  syncedPositions(): Map<string, number> {
    if (!this.opts.trackSynced) throw new Error("log syncedPositions() needs the option trackSynced: true");
    return new Map(this.segments.map((segment) => [segment.path, segment.syncedPos]));
  }

  /** Syncs everything written, closes the files, stops the timer. Rejects if the log had failed. */
  async close(): Promise<void> {
    if (this.state === "closed" || this.state === "closing") return;
    this.state = "closing";
    this.wakeZeroing();
    if (this.timer) clearInterval(this.timer);
    await this.truncation?.catch(() => {});
    await this.preparing;
    if (this.prepared) discardPrepared(this.prepared);
    this.prepared = null;
    while (this.commits.busy) await this.commits.idle();
    if (!this.failure) {
      this.commits.request();
      while (this.commits.busy) await this.commits.idle();
    }
    for (const segment of this.segments) segment.close();
    fs.closeSync(this.dirFd);
    this.state = "closed";
    if (this.failure) throw this.failure;
  }

  /** Why the log takes no writes now (failed, truncating, closing), or null when it does. */
  get writeRefusal(): string | null {
    if (this.failure) return `log in ${this.opts.dir} failed earlier and takes no more writes: ${this.failure.message}`;
    if (this.state !== "open") return `log in ${this.opts.dir} is ${this.state}: no writes now`;
    return null;
  }

  private assertWritable(): void {
    const refusal = this.writeRefusal;
    if (refusal) throw new Error(refusal);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    if (this.timer) clearInterval(this.timer);
    this.onFailure(err);
  }

  /** Seals the active segment and starts the next one at endOffset. */
  private roll(): Segment {
    const old = this.active;
    // Not zeroed in time (appends outran the paced zeroing): a sparse file now, rather than block
    // appends while 64 MiB of zeros are written. Its fdatasyncs cost more until the next roll.
    const file = this.prepared ?? preallocateSync(this.opts.dir, this.opts.segmentBytes, false);
    this.prepared = null;
    if (old.writePos === 0) {
      // An empty segment (a short file left by recovery) would share the new one's name.
      this.segments.pop();
      this.cursors.forgetFrom(old.base);
      old.remove();
    }
    const segment = Segment.install(this.opts.dir, this.endOffset, file, this.limits);
    if (old.writePos > 0) {
      old.sealIndex();
      this.indexUsed(old);
    }
    this.segments.push(segment);
    this.dirDirty = true;
    // Every policy syncs a segment when it is sealed; "always" and "interval" do it in their rounds.
    if (this.opts.sync === "none") this.commits.request();
    return segment;
  }

  /**
   * Prepares the next segment in the background so a roll does not stall appends: zero-filled,
   * paced to keep at most ZERO_LEAD of a segment ahead of the active one's writes, so the zeros
   * reach the disk about as fast as the log itself does and never in one burst.
   */
  private prepareNext(): void {
    if (this.prepared || this.preparing || this.prepareFailed) return;
    this.preparing = preallocate(this.opts.dir, this.opts.segmentBytes, this.zeroFill, this.zeroPacing)
      .then(
        (file) => {
          if (this.state === "closing" || this.state === "closed") return discardPrepared(file);
          this.prepared = file;
        },
        (err) => {
          // Out of space, say: a roll falls back to a sparse file, and a real disk problem shows
          // up in the appends. Stopped on purpose: prepared again on the next append, if open.
          if (err !== PREPARE_STOPPED) this.prepareFailed = true;
        },
      )
      .finally(() => {
        this.preparing = null;
      });
  }

  private wakeZeroing(): void {
    const wake = this.zeroWaiter;
    this.zeroWaiter = null;
    wake?.();
  }

  private readonly zeroPacing: ZeroPacing = {
    chunkBytes: ZERO_CHUNK_BYTES,
    next: async (done) => {
      const lead = this.opts.segmentBytes * ZERO_LEAD;
      await Bun.sleep(ZERO_PAUSE_MS);
      for (;;) {
        // Closing, or zero-filling was turned off (a syncing node): this file is not wanted.
        if (this.state === "closing" || this.state === "closed" || !this.zeroFill) throw PREPARE_STOPPED;
        if (done <= this.active.writePos + lead) return;
        // Far enough ahead: wait for appends (an idle log keeps no timer running for this).
        await new Promise<void>((resolve) => (this.zeroWaiter = resolve));
      }
    },
  };

  /** The round syncing everything written so far; null when all of it is durable already. */
  private nextRound(): SyncRound | null {
    const target = this.endOffset;
    const dirty = this.segments.filter((segment) => segment.writePos > segment.syncedPos);
    const positions = dirty.map((segment) => segment.writePos);
    const dirFds = this.dirDirty ? [this.dirFd] : [];
    if (dirty.length === 0 && dirFds.length === 0 && target === this.durable) return null;
    this.dirDirty = false;
    let bytes = 0;
    for (const segment of dirty) bytes += segment.writePos - segment.syncedPos;
    const onLoop = bytes <= SYNC_ON_LOOP_BYTES_MAX;
    const startedMs = performance.now(); // the round starts as soon as it is returned
    return {
      dataFds: dirty.map((segment) => segment.fd),
      dirFds,
      fdatasync: this.opts.fdatasync ?? (onLoop ? fdatasyncOnLoop : fs.fdatasync),
      fsyncDir: onLoop ? fsyncOnLoop : fs.fsync,
      done: () => {
        if (dirty.length > 0 || dirFds.length > 0) this.opts.syncSeconds?.observe((performance.now() - startedMs) / 1000);
        dirty.forEach((segment, i) => (segment.syncedPos = Math.max(segment.syncedPos, positions[i])));
        this.advanceDurable(target);
      },
    };
  }

  private advanceDurable(target: number): void {
    if (target <= this.durable) return;
    this.durable = target;
    this.onDurable(target);
  }

  private syncIfBehind(): void {
    const behind = this.dirDirty || this.durable < this.endOffset;
    if (behind && !this.failure) this.commits.request();
  }

  private dropFrom(offset: number): void {
    const i = this.segmentIndexFor(offset);
    const doomed = this.segments.splice(i + 1);
    for (const segment of doomed) segment.remove();
    const segment = this.segments[i];
    // What is left of the indexed segments: sealed ones, still in the log (the cut one is active now).
    const kept = this.indexed.filter((s) => s !== segment && !doomed.includes(s));
    this.indexed.splice(0, this.indexed.length, ...kept);
    segment.truncateTo(segment.positionOf(offset, this.scratch), offset);
    if (doomed.length > 0) fs.fsyncSync(this.dirFd);
    this.cursors.forgetFrom(offset);
    this.durable = Math.min(this.durable, offset);
  }

  private locate(from: number): { segment: Segment; pos: number } {
    const cursor = this.cursors.find(from);
    // A cursor at the very end of a sealed segment points nowhere useful: the record is in the next.
    if (cursor && cursor.pos < cursor.segment.writePos) return cursor;
    const segment = this.segments[this.segmentIndexFor(from)];
    if (segment !== this.active) this.indexUsed(segment);
    return { segment, pos: segment.positionOf(from, this.scratch) };
  }

  /** Keeps the index of the sealed segments read last; drops the one read longest ago. */
  private indexUsed(segment: Segment): void {
    const at = this.indexed.indexOf(segment);
    if (at >= 0) this.indexed.splice(at, 1);
    this.indexed.push(segment);
    if (this.indexed.length > SEALED_INDEXES_KEPT) this.indexed.shift()!.dropIndex();
  }

  /** Index of the last segment whose base is <= offset. */
  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.segments[mid].base <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
