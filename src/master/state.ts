// What the master must not forget: the chains (order of members, the syncing node, epoch) and
// each known node's addresses. Written atomically and fsynced before any node hears of a change.

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic-file.ts";

export interface NodeRecord {
  id: string;
  clientAddr: string;
  replicationAddr: string;
  adminAddr: string;
}

export interface ChainRecord {
  chainId: number;
  epoch: number;
  /** Serving members in chain order: head first, tail last. */
  members: string[];
  /** A node copying the log from the tail; it becomes the tail once caught up. */
  syncing: string | null;
  /**
   * The highest commit end a member has reported (saved at most about once a second, so a lower
   * bound of the chain's commit end). A member under sync = "always" that comes back with a
   * shorter log has lost acknowledged entries; see Master.join. Absent in older state files.
   */
  commitFloor?: number;
}

export interface MasterState {
  version: 1;
  chains: ChainRecord[];
  nodes: NodeRecord[];
}

export class StateFile {
  readonly path: string;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, "master-state.json");
  }

  /** The saved state, or a fresh one with a single empty chain. */
  load(): MasterState {
    if (!existsSync(this.path)) return { version: 1, chains: [{ chainId: 1, epoch: 0, members: [], syncing: null }], nodes: [] };
    const text = readFileSync(this.path, "utf8");
    let parsed: MasterState;
    try {
      parsed = JSON.parse(text) as MasterState;
    } catch (e) {
      throw new Error(`${this.path}: the master's state file is not valid JSON (${(e as Error).message}); restore it from a backup or remove it to start an empty cluster`);
    }
    if (parsed.version !== 1 || !Array.isArray(parsed.chains) || !Array.isArray(parsed.nodes)) {
      throw new Error(`${this.path}: the master's state file has an unknown layout`);
    }
    for (const c of parsed.chains) c.syncing ??= null;
    return parsed;
  }

  save(state: MasterState): void {
    writeFileAtomic(this.path, JSON.stringify(state, null, 2) + "\n");
  }
}
