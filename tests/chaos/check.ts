// Checks a kept chaos run again, offline: bun tests/chaos/check.ts DIR
// Reads DIR/history.jsonl, DIR/cluster.json (the master's last view), the node configs (for the
// sync policy) and the nodes' data directories, and prints the violations — e.g. after a change
// to the checker.

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { ClusterDocument } from "../../src/client/client.ts";
import { checkRun, lossWindowMs } from "./chaos.ts";
import type { SyncPolicy } from "./cluster.ts";
import type { HistoryEvent } from "./history.ts";
import type { PowerLoss } from "./nemesis.ts";

const dir = process.argv[2];
if (!dir || !existsSync(join(dir, "history.jsonl"))) {
  console.error("usage: bun tests/chaos/check.ts DIR   (a directory kept by a chaos run)");
  process.exit(2);
}
const events = readFileSync(join(dir, "history.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as HistoryEvent);
const doc = existsSync(join(dir, "cluster.json")) ? (JSON.parse(readFileSync(join(dir, "cluster.json"), "utf8")) as ClusterDocument | null) : null;
const nodes = readdirSync(dir).filter((n) => /^node\d+$/.test(n)).sort();
const toml = readFileSync(join(dir, `${nodes[0]}.toml`), "utf8");
const sync = (/sync = "(\w+)"/.exec(toml)?.[1] ?? "always") as SyncPolicy;
const interval = Number(/sync_interval_ms = (\d+)/.exec(toml)?.[1] ?? 5);
const losses = sync === "always" ? [] : events.filter((e) => e.type === "nemesis" && e.f === "all-lost").map((e) => e.detail as PowerLoss);
const result = await checkRun(dir, nodes, events, doc, losses, lossWindowMs(sync, interval));
for (const v of result.violations) console.log(`violated ${v.property}: ${v.message}\n${v.events.map((e) => `    ${JSON.stringify(e)}`).join("\n")}`);
console.log(JSON.stringify({ sync, counts: result.counts, stats: result.stats }));
process.exit(result.violations.length ? 1 : 0);
