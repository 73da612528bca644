// Commit latency at the head: for each batch it writes, the time from the arrival of the batch's
// first append to the moment the head learns the batch is committed. A fixed ring of (end offset,
// start time) pairs, so nothing is allocated per batch; batches beyond its capacity go untimed.

import type { Observer } from "../metrics/histogram.ts";

/** Uncommitted batches timed at once: far above what a healthy chain holds in flight. */
export const TIMED_BATCHES_MAX = 4096;

export class CommitTimer {
  private readonly ends: Float64Array;
  private readonly startsMs: Float64Array;
  private oldest = 0;
  private size = 0;

  constructor(
    private readonly seconds: Observer,
    private readonly capacity = TIMED_BATCHES_MAX,
  ) {
    this.ends = new Float64Array(capacity);
    this.startsMs = new Float64Array(capacity);
  }

  /** A batch of offsets below `end` was written; its first append arrived at `startedMs`. */
  written(end: number, startedMs: number): void {
    // Ends only grow, unless the log was cut back since: batches from beyond the cut never commit.
    while (this.size > 0 && this.ends[this.slot(this.size - 1)] >= end) this.size--;
    if (this.size === this.capacity) return;
    const i = this.slot(this.size++);
    this.ends[i] = end;
    this.startsMs[i] = startedMs;
  }

  /** The commit end reached `end`: every timed batch below it is observed. */
  committed(end: number, nowMs: number): void {
    while (this.size > 0 && this.ends[this.oldest] <= end) {
      this.seconds.observe((nowMs - this.startsMs[this.oldest]) / 1000);
      this.oldest = this.slot(1);
      this.size--;
    }
  }

  private slot(i: number): number {
    return (this.oldest + i) % this.capacity;
  }
}
