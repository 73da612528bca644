// Where the master keeps its state: behind one interface, so the planner's runner does not care
// whether it is a local file (the default) or, later, etcd. Every store passes the shared suite in
// tests/unit/state-store.test.ts.

import type { MasterState } from "../chain/control.ts";

export interface StateStore {
  /** Where the state lives, for messages ("/var/lib/catena/master-state.json"). */
  readonly where: string;
  /** The saved state, checked against its schema, or a fresh one with a single empty chain. */
  load(): MasterState;
  /** Persists the state durably before returning: nobody hears of a change before this. */
  save(state: MasterState): void;
}

export function freshState(): MasterState {
  return { version: 1, chains: [{ chainId: 1, epoch: 0, members: [], syncing: null }], nodes: [] };
}

/** A store in memory: for tests and the simulator, where "durable" means "kept by this object". */
export class MemoryStateStore implements StateStore {
  readonly where = "memory";
  private saved: string | null = null;

  load(): MasterState {
    return this.saved === null ? freshState() : (JSON.parse(this.saved) as MasterState);
  }

  save(state: MasterState): void {
    this.saved = JSON.stringify(state);
  }
}
