// The commit end a replica last knew, recorded beside its log. A node that comes back tells its
// predecessor this offset and the CRC of the entry before it: entries below it are committed and
// must match the chain's, anything above it may be dropped and copied again. Written lazily and
// without fsync: a stale (smaller) value is always safe; a torn file reads as zero.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32c } from "../protocol/crc32c.ts";

const WRITE_DELAY_MS = 200;
const encoder = new TextEncoder();

export class CommitFile {
  private readonly path: string;
  private recorded: number;
  private pending: number;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(dir: string) {
    this.path = join(dir, "commit-end");
    this.recorded = this.pending = read(this.path);
  }

  /** The highest commit end known here (recorded or about to be). */
  get value(): number {
    return this.pending;
  }

  advance(commitEnd: number): void {
    if (commitEnd <= this.pending) return;
    this.pending = commitEnd;
    if (this.timer) return;
    this.timer = setTimeout(() => this.flushIfPossible(), WRITE_DELAY_MS);
    this.timer.unref?.();
  }

  /** Entries from `end` on were dropped although recorded as committed (a syncing node recopying a
   * log the chain no longer has, docs/testing.md bug 2): record the lower value at once. */
  lower(end: number): void {
    if (end >= this.pending) return;
    this.pending = end;
    this.flush();
  }

  /**
   * Like flush, but a failed write (a full disk) is left for the next advance: a stale, smaller
   * value is safe, and the log reports its own failure. From a timer, a throw would end the process.
   */
  flushIfPossible(): void {
    try {
      this.flush();
    } catch {
      // see above
    }
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending === this.recorded) return;
    const text = String(this.pending);
    writeFileSync(this.path, `${text} ${crc32c(encoder.encode(text))}\n`);
    this.recorded = this.pending;
  }
}

function read(path: string): number {
  if (!existsSync(path)) return 0;
  const m = /^(\d+) (\d+)\n$/.exec(readFileSync(path, "utf8"));
  if (!m || crc32c(encoder.encode(m[1])) !== Number(m[2])) return 0;
  return Number(m[1]);
}
