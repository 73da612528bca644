// The order the TUI lists nodes in, from the cluster document alone (used by the state reducer and
// the view model, so it sits apart from both).

import type { ClusterDocument, NodeInfo } from "../src/client/cluster-document.ts";

/** Every chain's members head → tail and its syncing node, chain by chain, then the others. */
export function orderNodes(snapshot: ClusterDocument | null): NodeInfo[] {
  if (!snapshot) return [];
  const byId = new Map(snapshot.nodes.map((n) => [n.id, n]));
  const out: NodeInfo[] = [];
  const placed = new Set<string>();
  for (const chain of snapshot.chains) {
    for (const id of chain.syncing ? [...chain.members, chain.syncing] : chain.members) {
      const node = byId.get(id);
      if (node && !placed.has(id)) {
        out.push(node);
        placed.add(id);
      }
    }
  }
  for (const n of snapshot.nodes) if (!placed.has(n.id)) out.push(n);
  return out;
}
