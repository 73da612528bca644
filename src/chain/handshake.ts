// The replication handshake's rule, pure: a node that opens a stream to its successor first
// checks the successor's log against its own (HELLO_OK: where the successor's log ends, the CRC of
// its last entry, the commit end it recorded and the CRC of the entry below it). Committed entries
// are the same on every replica (rule 1: every log is a prefix of its predecessor's), so the
// answer is to stream from the successor's end, to have it truncate entries the chain does not
// have, or to stop because the two disagree about what is committed.

/** What the successor says about its log (HELLO_OK). */
export interface SuccessorLog {
  logEnd: number;
  lastCrc: number;
  commitEnd: number;
  commitCrc: number;
}

/** What this node knows of its own log. */
export interface OwnLog {
  logEnd: number;
  /** CRC of the entry at `offset`, or null when this log does not hold it. */
  crcAt(offset: number): number | null;
}

export interface HandshakeContext {
  /** The successor is a syncing (returning or new) node, not yet part of the commit. */
  successorSyncing: boolean;
  /** This node's policy is "interval" or "none": a power loss of every node may have taken
   * committed entries from it, and the chain may have gone on from a shorter log. */
  mayLoseCommitted: boolean;
}

export type HandshakeDecision =
  /** The successor's log is a prefix of ours: send it everything from `from` on. */
  | { kind: "stream"; from: number }
  /** The successor holds entries the chain does not have: it drops everything from `to`. */
  | { kind: "truncate"; to: number; why: string }
  /** This log lacks entries the chain committed: tell the master, stop this stream. */
  | { kind: "lacks-committed"; why: string }
  /** The two logs disagree about committed entries: stop; the data needs repair by hand. */
  | { kind: "refuse"; why: string };

export function decideHandshake(successor: SuccessorLog, ours: OwnLog, context: HandshakeContext): HandshakeDecision {
  const commitMismatch = successor.commitEnd > 0 && (successor.commitEnd > ours.logEnd || ours.crcAt(successor.commitEnd - 1) !== successor.commitCrc);
  if (commitMismatch) {
    if (context.successorSyncing && context.mayLoseCommitted) {
      // A returning node recorded a commit end from before a power loss of every node that this
      // log no longer has (allowed under "interval"/"none", README). It is not part of the commit:
      // it drops its log and copies the chain's, rather than stay syncing for good.
      return { kind: "truncate", to: 0, why: `the syncing successor's committed entries (to ${successor.commitEnd}) differ from this log (ending at ${ours.logEnd}), a power loss of every node?; it copies the log again` };
    }
    if (successor.commitEnd > ours.logEnd && !context.successorSyncing) {
      // Lost to a power loss under "interval" or "none", or a replaced disk: the master moves this
      // node out of the chain to copy the log again, rather than leave the chain stalled behind it.
      return { kind: "lacks-committed", why: `the successor recorded ${successor.commitEnd} entries as committed, this log ends at ${ours.logEnd}` };
    }
    return { kind: "refuse", why: `the successor's committed entries (to ${successor.commitEnd}) differ from this log's; its data needs repair by hand` };
  }
  // A syncing node's entries above its commit end were never checked against the chain: a
  // matching last entry does not prove the ones before it match (a retried request can land at
  // the same offset in a different order), so they are always dropped and copied again.
  const unchecked = context.successorSyncing && successor.logEnd > successor.commitEnd;
  const matches = !unchecked && successor.logEnd <= ours.logEnd && (successor.logEnd === 0 || ours.crcAt(successor.logEnd - 1) === successor.lastCrc);
  if (!matches) {
    const why = unchecked
      ? `the syncing successor's entries from ${successor.commitEnd} to ${successor.logEnd} were never checked against the chain`
      : successor.logEnd > ours.logEnd
        ? `the successor's log ends at ${successor.logEnd}, past this log's end ${ours.logEnd}`
        : `the successor's entry at ${successor.logEnd - 1} differs from this log's`;
    return { kind: "truncate", to: successor.commitEnd, why };
  }
  return { kind: "stream", from: successor.logEnd };
}
