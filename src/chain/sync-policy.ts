// The sync policies and what each one means for the rules, in one place: which end of a node's
// log counts toward the commit, whether an acknowledged entry survives a power loss of every
// node, and the order of forwarding and writing at a node.

export const SYNC_POLICIES = ["always", "interval", "none"] as const;
export type SyncPolicy = (typeof SYNC_POLICIES)[number];

export interface SyncRules {
  readonly policy: SyncPolicy;
  /** Every append is fdatasynced before it counts (group commit: one sync round per batch). */
  readonly syncsEachAppend: boolean;
  /**
   * An acknowledged entry is on disk on every node, so it survives a power loss of every node at
   * once. Under "interval" and "none" the chain may go on from a shorter log after one.
   */
  readonly durableAcks: boolean;
  /** A batch leaves for the successor before this node's own write, so their disk writes overlap
   * (only worth it when each write is followed by an fdatasync). */
  readonly forwardBeforeLocalWrite: boolean;
  /** The end of the log that counts toward the commit: what is synced, or what is written. */
  ackableEnd(log: { readonly durableEnd: number; readonly endOffset: number }): number;
}

const RULES: Record<SyncPolicy, SyncRules> = {
  always: { policy: "always", syncsEachAppend: true, durableAcks: true, forwardBeforeLocalWrite: true, ackableEnd: (log) => log.durableEnd },
  interval: { policy: "interval", syncsEachAppend: false, durableAcks: false, forwardBeforeLocalWrite: false, ackableEnd: (log) => log.endOffset },
  none: { policy: "none", syncsEachAppend: false, durableAcks: false, forwardBeforeLocalWrite: false, ackableEnd: (log) => log.endOffset },
};

export function isSyncPolicy(v: unknown): v is SyncPolicy {
  return typeof v === "string" && (SYNC_POLICIES as readonly string[]).includes(v);
}

export function syncRules(policy: SyncPolicy): SyncRules {
  return RULES[policy];
}
