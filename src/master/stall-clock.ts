// The master's failure detector measures silence on this clock: monotonic time with the master's
// own stalls taken out. A paused VM, a stuck fsync or a jump of the monotonic clock (seen as hours
// after a VM resume) is the master's silence, not the nodes': every node is credited with it,
// however long it was, and whichever request or timer is the first to see it.

export class StallClock {
  private lastRaw: number;
  private stalledTotal = 0;

  /**
   * @param gapMax the longest expected gap between two readings: the detector reads the clock on
   *   a timer, so a longer gap means this process did not run. Anything above it counts as stall.
   */
  constructor(
    private readonly gapMax: number,
    private readonly raw: () => number = () => performance.now(),
  ) {
    this.lastRaw = raw();
  }

  now(): number {
    const raw = this.raw();
    const gap = raw - this.lastRaw;
    if (gap > this.gapMax) this.stalledTotal += gap - this.gapMax;
    // A clock that went backwards is treated as standing still.
    if (gap > 0) this.lastRaw = raw;
    return this.lastRaw - this.stalledTotal;
  }

  /** Milliseconds of stall taken out so far. */
  get stalledMs(): number {
    return this.stalledTotal;
  }
}
