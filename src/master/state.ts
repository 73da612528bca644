// What the master must not forget: the chains (order of members, the syncing node, epoch) and
// each known node's addresses. Written atomically and fsynced before any node hears of a change.

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../config/errors.ts";
import type { MasterState } from "../chain/control.ts";
import { writeFileAtomic } from "../util/atomic-file.ts";
import { StateProblem, checkState } from "./state-check.ts";
import { freshState, type StateStore } from "./state-store.ts";

export type { ChainRecord, MasterState, NodeRecord } from "../chain/control.ts";

/** The default store: one JSON file in state_dir, replaced atomically (write, fsync, rename, fsync
 * the directory). */
export class StateFile implements StateStore {
  readonly path: string;

  get where(): string {
    return this.path;
  }

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, "master-state.json");
  }

  load(): MasterState {
    if (!existsSync(this.path)) return freshState();
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.path, "utf8"));
    } catch (e) {
      throw this.refuse("", `not valid JSON (${(e as Error).message})`);
    }
    try {
      return checkState(parsed);
    } catch (e) {
      if (e instanceof StateProblem) throw this.refuse(e.key, e.problem);
      throw e;
    }
  }

  /** Never advises removing the file: a master without its state would hand nodes that hold data
   * epochs they have already passed, and forget which node is the last to hold every entry. */
  private refuse(key: string, problem: string): ConfigError {
    return new ConfigError(this.path, key, `${problem}; the master's state file is damaged: fix that value, or restore the file from a backup (do not remove it while nodes hold data)`);
  }

  save(state: MasterState): void {
    writeFileAtomic(this.path, JSON.stringify(state, null, 2) + "\n");
  }
}
