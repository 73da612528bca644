// The commit rule of one replica, as pure state: no I/O, no clock.
//
// Each node has an "ackable" end: under sync = "always" the end of what it has fdatasynced,
// otherwise the end of what it has written. Going down the chain, each node tells its successor
// the lowest ackable end of itself and every node above it (DURABLE). At the tail that minimum,
// taken with the tail's own ackable end, is the chain's durable watermark: every entry below it is
// held by every node (durable on every node under "always"), so it is committed. The tail is the
// first node to know it, answers the appends, and sends the commit end back up the chain
// (COMMIT) so every node knows it. Reads served by the tail are therefore linearizable: the tail
// acknowledges an append and makes it readable at the same moment.

export interface WatermarkEffects {
  /** Send this DURABLE value to the successor. */
  durableDown?: number;
  /** The commit end advanced from `committedFrom` to `committed`. */
  committed?: number;
  committedFrom?: number;
}

export class Watermarks {
  private localAckable = 0;
  /** The predecessor's DURABLE value: lowest ackable end of every node above this one. */
  private upstreamDurable = 0;
  /** The last prefix minimum computed (this node and everything above it). */
  private prefix = -1;
  private commit: number;

  constructor(
    private isHead: boolean,
    private isTail: boolean,
    initialCommit = 0,
  ) {
    this.commit = initialCommit;
  }

  get commitEnd(): number {
    return this.commit;
  }

  /** The DURABLE value this node reports downstream. */
  get prefixDurable(): number {
    return this.isHead ? this.localAckable : Math.min(this.localAckable, this.upstreamDurable);
  }

  /** The node's place in the chain changed (new epoch). The predecessor's value starts over. */
  reposition(isHead: boolean, isTail: boolean): WatermarkEffects {
    this.isHead = isHead;
    this.isTail = isTail;
    this.upstreamDurable = 0;
    this.prefix = -1;
    return this.recompute();
  }

  /** This node wrote or synced more of its log. */
  localAdvanced(ackableEnd: number): WatermarkEffects {
    if (ackableEnd <= this.localAckable) return {};
    this.localAckable = ackableEnd;
    return this.recompute();
  }

  /** This node's log was cut back to `end` (entries the chain does not have were dropped). */
  localTruncated(end: number): WatermarkEffects {
    if (end >= this.localAckable) return {};
    this.localAckable = end;
    return this.recompute();
  }

  /** A syncing node dropped entries below its commit end (they are not the chain's): forget them. */
  commitLowered(end: number): void {
    if (end < this.commit) this.commit = end;
  }

  /** The predecessor reported its DURABLE value. */
  upstreamAdvanced(end: number): WatermarkEffects {
    if (end <= this.upstreamDurable) return {};
    this.upstreamDurable = end;
    return this.recompute();
  }

  /** The successor reported the commit end (flowing up from the tail). Clamped to this log. */
  commitReported(end: number, logEnd: number): WatermarkEffects {
    return this.advanceCommit(Math.min(end, logEnd), {});
  }

  private recompute(): WatermarkEffects {
    const prefix = this.prefixDurable;
    const effects: WatermarkEffects = {};
    if (prefix === this.prefix) return effects;
    this.prefix = prefix;
    if (!this.isTail) effects.durableDown = prefix;
    return this.isTail ? this.advanceCommit(prefix, effects) : effects;
  }

  private advanceCommit(next: number, effects: WatermarkEffects): WatermarkEffects {
    if (next <= this.commit) return effects;
    effects.committedFrom = this.commit;
    effects.committed = next;
    this.commit = next;
    return effects;
  }
}
