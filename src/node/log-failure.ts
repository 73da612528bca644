// What a node knows about a replica whose log failed, and whether it may take that log back
// without a restart. A write refused for lack of space (ENOSPC, EDQUOT) wrote nothing: the files
// hold exactly what earlier writes put there, so once the disk has room the log can be reopened
// (recovery cuts a torn tail) and the node can join its chain again, as a restarted node would.
// A failed fsync is different: Linux may drop the dirty pages it could not write and still show
// their data in the page cache, so a reopened log could read entries that never reach the disk.
// That, and any other error (EIO, EROFS), ends the process: a person must look at the disk.

import fs from "node:fs";

/** Reported on /health/ready and /v1/status while a replica's log is out of service. */
export interface LogFailure {
  chainId: number;
  error: string;
  /** The errno name, e.g. "ENOSPC", when the error had one. */
  code: string | null;
  /** ISO 8601 time of the failure. */
  since: string;
  /** What the node does about it, in words. */
  next: string;
}

const SPACE_CODES = new Set(["ENOSPC", "EDQUOT"]);

/** A write (not a sync) refused for lack of space: nothing half-done lies in the page cache. */
export function isSpaceFailure(err: Error): boolean {
  const { code, syscall } = err as NodeJS.ErrnoException;
  return code !== undefined && SPACE_CODES.has(code) && typeof syscall === "string" && !syscall.includes("sync");
}

export function describeFailure(chainId: number, err: Error, dir: string, checkMs: number): LogFailure {
  const space = isSpaceFailure(err);
  const next = space
    ? `out of service; checks every ${checkMs} ms for free space in ${dir}, then reopens the log and joins the chain again`
    : `exiting: the disk may have lost writes; check it (dmesg, the file system), then start the node again`;
  return { chainId, error: err.message, code: (err as NodeJS.ErrnoException).code ?? null, since: new Date().toISOString(), next };
}

/** The error a node exits with when a log failed other than for space. */
export function fatalLogError(chainId: number, err: Error, dir: string): Error {
  return new Error(
    `the log of chain ${chainId} in ${dir} failed: ${err.message}; the disk may have lost writes: check it (dmesg, the file system), ` +
      "then start the node again (it recovers its log at start, and its chain checks it before taking it back)",
  );
}

/**
 * Room for a reopened log: the rest of its active segment (written sparse when the next one could
 * not be zero-filled in time) and the next segment, which the log prepares at once.
 */
export function hasRoomForLog(dir: string, segmentBytes: number): boolean {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize >= 2 * segmentBytes;
}
