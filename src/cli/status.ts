// `catena status`: the master's view of the cluster.

import { fetchCluster, type ClusterDocument } from "../client/client.ts";
import { boolFlag, type Parsed } from "./args.ts";
import { clientOptions } from "./common.ts";
import { stdout } from "./output.ts";

/** The latest warnings among the master's recent events (a state behind the nodes, mismatched limits). */
const WARNINGS_SHOWN = 5;

export function formatCluster(doc: ClusterDocument): string {
  const lines: string[] = [];
  for (const c of doc.chains) {
    const syncing = c.syncing ? `  (+ ${c.syncing} syncing)` : "";
    lines.push(`chain ${c.chainId}  epoch ${c.epoch}  ${c.members.length ? c.members.join(" -> ") : "(no members yet)"}${syncing}`);
    if (typeof c.status === "string" && c.status !== "serving") lines.push(`  ${c.status}`);
  }
  for (const w of doc.events.filter((e) => e.kind === "warning").slice(-WARNINGS_SHOWN)) {
    lines.push(`  warning: ${w.message}${w.count && w.count > 1 ? ` (${w.count} times, latest ${w.lastTime})` : ""}`);
  }
  lines.push("");
  const header = ["NODE", "ROLE", "STATE", "LOG END", "COMMIT", "HEARTBEAT", "CLIENT ADDR"];
  const rows = doc.nodes.map((n) => [
    n.id, n.role, n.state, String(n.logEnd ?? "-"), String(n.commitEnd ?? "-"),
    n.heartbeatAgeMs === null ? "never" : `${n.heartbeatAgeMs} ms ago`, n.clientAddr,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [header, ...rows]) lines.push(r.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd());
  return lines.join("\n");
}

export async function runStatus(p: Parsed): Promise<number> {
  const options = clientOptions(p, "status");
  const doc = await fetchCluster(options.master, 3000, options);
  await stdout.line(boolFlag(p, "json") ? JSON.stringify(doc, null, 2) : formatCluster(doc));
  return 0;
}
