// The log's options, their limits, and its one typed error.

import { RECORD_HEADER_BYTES } from "../protocol/record.ts";
import type { FdatasyncFn } from "./sync.ts";

import { isSyncPolicy, SYNC_POLICIES, type SyncPolicy } from "../chain/sync-policy.ts";

export type { SyncPolicy };

export interface LogOptions {
  /** Created if missing. */
  dir: string;
  /** Size of each preallocated segment file, e.g. 64 MiB. */
  segmentBytes: number;
  /** One sparse index entry per this many bytes of records, e.g. 4096. */
  indexIntervalBytes: number;
  /** Largest single record accepted; recovery treats a longer length as garbage. */
  recordBytesMax: number;
  sync: SyncPolicy;
  /** How often "interval" syncs. */
  syncIntervalMs: number;
  /** Keep per segment file the byte position known to be fdatasynced (see syncedPositions()). */
  trackSynced?: boolean;
  /**
   * Check every record's CRC in sealed segments on open (the default). When false, a sealed
   * segment with a plausible index file is only checked after its last index entry: faster to
   * open a big log, blind to corruption in the middle of sealed segments.
   */
  verifySealed?: boolean;
  /** Given the duration in seconds of every sync round that succeeded (a metric). */
  syncSeconds?: { observe(seconds: number): void };
  /** Test hook: replaces the fdatasync of segment files, e.g. to inject a failure. */
  fdatasync?: FdatasyncFn;
}

/** A read asked for an offset the log does not hold; reads may start anywhere in [start, end]. */
export class LogRangeError extends Error {
  constructor(
    readonly from: number,
    readonly start: number,
    readonly end: number,
  ) {
    super(`log read from offset ${from}: reads must start in [${start}, ${end}] (first held offset, next offset to write)`);
    this.name = "LogRangeError";
  }
}

/** Segment positions are u32 in the index, so a segment stays below 4 GiB. */
const SEGMENT_BYTES_MAX = 0xffff_ffff;

/** Asserts option limits: the config layer checks them first, so a bad value here is a bug. */
export function checkOptions(opts: LogOptions): void {
  const fail = (key: string, value: unknown, want: string): never => {
    throw new Error(`log option ${key} = ${String(value)}: ${want}`);
  };
  const isCount = (n: number): boolean => Number.isSafeInteger(n) && n > 0;
  if (!isCount(opts.recordBytesMax) || opts.recordBytesMax < RECORD_HEADER_BYTES) {
    fail("recordBytesMax", opts.recordBytesMax, `must be an integer >= ${RECORD_HEADER_BYTES}`);
  }
  if (!isCount(opts.segmentBytes) || opts.segmentBytes < opts.recordBytesMax || opts.segmentBytes > SEGMENT_BYTES_MAX) {
    fail("segmentBytes", opts.segmentBytes, `must be an integer in [recordBytesMax, ${SEGMENT_BYTES_MAX}]`);
  }
  if (!isCount(opts.indexIntervalBytes)) fail("indexIntervalBytes", opts.indexIntervalBytes, "must be a positive integer");
  if (!isSyncPolicy(opts.sync)) fail("sync", opts.sync, `must be one of ${SYNC_POLICIES.join(", ")}`);
  if (opts.sync === "interval" && !isCount(opts.syncIntervalMs)) {
    fail("syncIntervalMs", opts.syncIntervalMs, "must be a positive integer of milliseconds");
  }
}

/** True for an error from a system call (write, fsync, rename...), as opposed to a bug. */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === "string";
}
