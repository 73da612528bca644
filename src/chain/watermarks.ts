// The commit rule of one replica, as pure state: no I/O, no clock.
//
// Each node contributes its "ackable" end: under sync = "always" the end of what it has
// fdatasynced, otherwise the end of what it has written. A node tells its predecessor the lowest
// ackable end of itself and every node below it (ACK). The head's view of that minimum is the
// chain's durable watermark: every entry below it is held (durable, under "always") by every node,
// so it is committed. The head sends the commit end down the chain (COMMIT) so every node knows it
// and serves reads only below it.

export interface WatermarkEffects {
  /** Send this ACK value to the predecessor. */
  ackUp?: number;
  /** The commit end advanced to this value. */
  committed?: number;
}

export class Watermarks {
  /** Lowest ackable end of this node and everything downstream, as last computed. */
  private suffixAck = 0;
  private downstreamAck = 0;
  private localAckable = 0;
  private commit = 0;

  constructor(
    private isHead: boolean,
    private hasSuccessor: boolean,
    initialCommit: number,
  ) {
    this.commit = initialCommit;
  }

  get commitEnd(): number {
    return this.commit;
  }

  /** The ACK value this node reports upstream: its own ackable end, or less if a successor lags. */
  get suffix(): number {
    return this.hasSuccessor ? Math.min(this.localAckable, this.downstreamAck) : this.localAckable;
  }

  /** The node's place in the chain changed (new epoch). The successor's ACK starts from zero. */
  reposition(isHead: boolean, hasSuccessor: boolean): WatermarkEffects {
    const successorChanged = hasSuccessor !== this.hasSuccessor;
    this.isHead = isHead;
    this.hasSuccessor = hasSuccessor;
    if (successorChanged || hasSuccessor) this.downstreamAck = 0;
    this.suffixAck = -1;
    return this.recompute();
  }

  /** This node wrote or synced more of its log. */
  localAdvanced(ackableEnd: number): WatermarkEffects {
    if (ackableEnd <= this.localAckable) return {};
    this.localAckable = ackableEnd;
    return this.recompute();
  }

  /** The successor reported its ACK value. */
  downstreamAcked(end: number): WatermarkEffects {
    if (end <= this.downstreamAck) return {};
    this.downstreamAck = end;
    return this.recompute();
  }

  /** The predecessor announced a commit end (non-head nodes). Clamped to what this node holds. */
  commitAnnounced(end: number, logEnd: number): WatermarkEffects {
    const next = Math.min(end, logEnd);
    if (next <= this.commit) return {};
    this.commit = next;
    return { committed: next };
  }

  private recompute(): WatermarkEffects {
    const suffix = this.hasSuccessor ? Math.min(this.localAckable, this.downstreamAck) : this.localAckable;
    const effects: WatermarkEffects = {};
    if (suffix !== this.suffixAck) {
      this.suffixAck = suffix;
      if (!this.isHead) effects.ackUp = suffix;
    }
    if (this.isHead && suffix > this.commit) {
      this.commit = suffix;
      effects.committed = suffix;
    }
    return effects;
  }
}
