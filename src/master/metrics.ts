// The master's /metrics: chains and nodes as the master sees them, read when scraped. Offsets
// come from the nodes' last heartbeats, so they are up to a heartbeat old.

import { Registry, type Sample } from "../metrics/registry.ts";
import type { Master } from "./master.ts";

const NODE_STATES = ["serving", "syncing", "standby", "failed"] as const;

export function masterMetrics(master: Master): string {
  const doc = master.cluster();
  const nodes = new Map(doc.nodes.map((n) => [n.id, n]));
  const r = new Registry();
  r.collect("catena_chains", "Chains the master manages.", "gauge", [], () => [{ labels: {}, value: doc.chains.length }]);
  r.collect("catena_chain_epoch", "Current epoch of each chain.", "gauge", ["chain"], () => doc.chains.map((c) => ({ labels: { chain: c.chainId }, value: c.epoch })));
  r.collect("catena_chain_members", "Serving members of each chain (its syncing node not counted).", "gauge", ["chain"], () =>
    doc.chains.map((c) => ({ labels: { chain: c.chainId }, value: c.members.length })),
  );
  r.collect(
    "catena_reconfigurations_total",
    "Epoch changes of each chain persisted by this master process since it started: a member removed or back after a restart, a syncing node added, dropped or made tail.",
    "counter",
    ["chain"],
    () => doc.chains.map((c) => ({ labels: { chain: c.chainId }, value: master.epochChanges.get(c.chainId) ?? 0 })),
  );
  r.collect("catena_nodes", "Known nodes by state (serving, syncing, standby, failed).", "gauge", ["state"], () =>
    NODE_STATES.map((state) => ({ labels: { state }, value: doc.nodes.filter((n) => n.state === state).length })),
  );
  r.collect("catena_node_heartbeat_age_seconds", "Seconds since each node's last heartbeat (or join) reached this master process.", "gauge", ["node"], () =>
    doc.nodes.flatMap((n) => (n.heartbeatAgeMs === null ? [] : [{ labels: { node: n.id }, value: n.heartbeatAgeMs / 1000 }])),
  );
  r.collect(
    "catena_replication_lag_entries",
    "The head's log end minus this member's (or the syncing node's) log end, from their last heartbeats: entries the head has written that this node had not. " +
      "The two reports are taken up to a heartbeat apart, so it is approximate and never below 0. Absent while the chain has no serving head.",
    "gauge",
    ["chain", "node"],
    () => {
      const out: Sample[] = [];
      for (const c of doc.chains) {
        const headEnd = c.head === null ? null : (nodes.get(c.head)?.logEnd ?? null);
        if (headEnd === null) continue;
        for (const id of c.syncing ? [...c.members, c.syncing] : c.members) {
          const end = nodes.get(id)?.logEnd ?? null;
          if (end !== null) out.push({ labels: { chain: c.chainId, node: id }, value: Math.max(0, headEnd - end) });
        }
      }
      return out;
    },
  );
  return r.render();
}
