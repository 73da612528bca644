// Fixture cluster documents for the TUI tests: no network, fixed times.

import type { ClusterDocument, NodeInfo, NodeStatus } from "../../src/client/cluster-document.ts";
import { initialState, reduce, type Action, type TuiState } from "../../tui/state.ts";

export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
export const MASTER = "http://127.0.0.1:7100";

export function node(id: string, role: string, logEnd: number | null, over: Partial<NodeInfo> = {}): NodeInfo {
  const port = 7200 + id.length;
  return {
    id, clientAddr: `127.0.0.1:${port}`, replicationAddr: `127.0.0.1:${port + 1}`, adminAddr: `127.0.0.1:${port + 2}`,
    chainId: 1, role, state: "serving", logEnd, durableEnd: logEnd, commitEnd: logEnd, bytes: null, heartbeatAgeMs: 40, syncTargetEnd: null, epoch: 3, lastHeartbeat: null, ...over,
  };
}

/** head → middle → tail, all serving, at log end `end`. */
export function healthy(end: number, epoch = 3): ClusterDocument {
  return {
    chains: [{ chainId: 1, epoch, members: ["head", "middle", "tail"], head: "head", tail: "tail", syncing: null, waitingFor: null, status: "serving" }],
    nodes: [node("tail", "tail", end - 2), node("head", "head", end), node("middle", "middle", end - 1)],
    events: [
      { time: new Date(T0 - 60_000).toISOString(), kind: "joined", message: "node head joined chain 1 at position 1 (epoch 1)" },
      { time: new Date(T0 - 59_000).toISOString(), kind: "joined", message: "node middle joined chain 1 at position 2 (epoch 2)" },
      { time: new Date(T0 - 58_000).toISOString(), kind: "joined", message: "node tail joined chain 1 at position 3 (epoch 3)" },
    ],
    replicationFactor: 3,
    heartbeatMs: 100,
    failureTimeoutMs: 600,
    leaseMs: 400,
  };
}

export function status(logEnd: number, bytes: number): NodeStatus {
  return {
    sync: "always", dataDir: "/var/lib/catena/x", uptimeMs: 12_000, lastMasterContactMs: 50,
    chains: [{ chainId: 1, startOffset: 0, logEnd, durableEnd: logEnd, commitEnd: logEnd, segments: 2, bytes, appends: logEnd }],
  };
}

/** The state after a minute of polls, five a second, with the head growing by `perPoll` entries. */
export function steadyState(perPoll = 100, demo = false): TuiState {
  let s = initialState(MASTER, demo, T0 - 60_000);
  for (let i = 0; i <= 300; i++) {
    const at = T0 - 60_000 + i * 200;
    s = reduce(s, { type: "cluster", at, snapshot: healthy(1000 + i * perPoll) });
  }
  return s;
}

export function apply(s: TuiState, ...actions: Action[]): TuiState {
  return actions.reduce(reduce, s);
}
