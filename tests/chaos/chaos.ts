// One chaos run: start the cluster, run the workload and the nemesis for `durationS`, heal
// everything, check liveness, stop the cluster, read every node's log from disk, check the history.
// Returns a report; a failed run keeps its directory (history.jsonl, node logs, data, report.json).

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fetchCluster, type ClusterDocument } from "../../src/client/client.ts";
import { readNodeLog } from "../helpers/log-files.ts";
import { check, type CheckResult, type ReplicaLog } from "./checker.ts";
import { ChaosCluster, type SyncPolicy } from "./cluster.ts";
import { History, type HistoryEvent } from "./history.ts";
import { Nemesis, type PowerLoss } from "./nemesis.ts";
import { Prng } from "./prng.ts";
import { makeSchedule, type Fault } from "./schedule.ts";
import { Workload } from "./workload.ts";

export interface ChaosOptions {
  seed: number;
  durationS: number;
  dir: string;
  binary: string;
  nodes?: number;
  replicationFactor?: number;
  sync?: SyncPolicy;
  syncIntervalMs?: number;
  kinds?: Fault["kind"][];
  /** Remove the directory after a passing run. */
  cleanPass?: boolean;
  log?: (line: string) => void;
}

interface Finding {
  property: string;
  message: string;
  events?: unknown[];
}

export interface ChaosReport {
  seed: number;
  dir: string;
  /** The command line that plans the same schedule again. */
  rerun: string;
  passed: boolean;
  violations: Finding[];
  counts: Record<string, number>;
  stats: Record<string, number>;
  faults: Record<string, number>;
}

const REQUEST_TIMEOUT_MS = 8000;
const HEAL_TIMEOUT_MS = 60_000;

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const sync = o.sync ?? "always";
  const findings: Finding[] = [];
  mkdirSync(o.dir, { recursive: true });
  const history = new History(join(o.dir, "history.jsonl"));
  const cluster = await ChaosCluster.start({
    dir: o.dir,
    binary: o.binary,
    nodes: o.nodes ?? 4,
    replicationFactor: o.replicationFactor ?? 3,
    sync,
    syncIntervalMs: o.syncIntervalMs ?? 5,
    onCrash: (name, code, signal) => {
      history.nemesis("crash", { name, code, signal });
      findings.push({ property: "no-crash", message: `${name} exited by itself (code ${code}, signal ${signal}); see ${join(o.dir, `${name}.log`)}` });
    },
  });
  let run: Awaited<ReturnType<typeof exercise>>;
  try {
    run = await exercise(o, cluster, history);
  } finally {
    await cluster.stop();
    history.nemesis("stopped", {});
    history.flush();
  }
  findings.push(...run.nemesis.findings, ...run.liveness);
  writeFileSync(join(o.dir, "cluster.json"), JSON.stringify(run.doc));
  const losses = sync === "always" ? [] : run.nemesis.losses;
  const result = await checkRun(o.dir, cluster.nodeNames, history.events, run.doc, losses, lossWindowMs(sync, o.syncIntervalMs ?? 5));
  const counts = { ...result.counts };
  for (const f of findings) counts[f.property] = (counts[f.property] ?? 0) + 1;
  const violations = [...findings, ...result.violations];
  const report: ChaosReport = {
    seed: o.seed,
    dir: o.dir,
    rerun: rerunCommand(o),
    passed: violations.length === 0,
    violations,
    counts,
    stats: { ...result.stats, acksAfterHeal: run.acksAfterHeal, steps: run.steps },
    faults: run.nemesis.applied,
  };
  writeFileSync(join(o.dir, "report.json"), JSON.stringify(report, null, 1));
  if (report.passed && o.cleanPass) rmSync(o.dir, { recursive: true, force: true });
  return report;
}

/** The workload and the nemesis for the run's duration, then healing and the liveness checks. */
async function exercise(o: ChaosOptions, cluster: ChaosCluster, history: History) {
  const rng = new Prng(o.seed);
  const schedule = makeSchedule(o.seed, o.durationS * 1000, cluster.nodeNames, o.kinds);
  writeFileSync(join(o.dir, "schedule.json"), JSON.stringify(schedule, null, 1));
  (o.log ?? console.error)(`chaos: ${rerunCommand(o)}: ${schedule.length} steps; data in ${o.dir}`);
  const workload = new Workload(
    history,
    { master: cluster.clientMasterUrl, appenders: 3, appendersInflight: 3, readers: 2, subscribers: 2, requestTimeoutMs: REQUEST_TIMEOUT_MS, appendPauseMs: 20, oversizedBytes: 65537 },
    rng.fork(1),
    o.seed,
  );
  const nemesis = new Nemesis(cluster, history, rng.fork(2));
  workload.start();
  const nemesisDone = nemesis.run(schedule, performance.now());
  await Bun.sleep(o.durationS * 1000);
  nemesis.stop();
  await nemesisDone;
  const healedAt = performance.now();
  const { liveness, doc } = await heal(cluster, history, workload);
  const acksAfterHeal = history.events.filter((e) => e.type === "ok" && e.f === "append" && e.t > healedAt).length;
  if (liveness.length === 0 && acksAfterHeal === 0) liveness.push({ property: "heals", message: "no append was acknowledged after healing" });
  return { nemesis, liveness, doc, acksAfterHeal, steps: schedule.length };
}

/** Heals every fault; expects full membership, converged members, and subscribers caught up. */
async function heal(cluster: ChaosCluster, history: History, workload: Workload): Promise<{ liveness: Finding[]; doc: ClusterDocument | null }> {
  history.nemesis("heal", {});
  cluster.healAll();
  const liveness: Finding[] = [];
  let doc = null as ClusterDocument | null;
  const view = () => `${JSON.stringify(doc?.chains)} ${JSON.stringify(doc?.nodes.map((n) => [n.id, n.state, n.logEnd, n.commitEnd]))}`;
  const expect = async (property: string, check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> => {
    try {
      await cluster.waitFor(check, timeoutMs, what);
    } catch (e) {
      liveness.push({ property, message: `${(e as Error).message}; last view: ${view()}` });
    }
  };
  await expect("heals", async () => cluster.healthy((doc = await fetchCluster(cluster.masterUrl))), HEAL_TIMEOUT_MS, "the cluster did not heal");
  await Bun.sleep(1000); // appends flow on the healed cluster for a moment
  await workload.stopWriting();
  if (liveness.length === 0) await expect("heals", async () => cluster.converged((doc = await fetchCluster(cluster.masterUrl))), 20_000, "the members' logs did not converge");
  const tail = doc?.nodes.find((n) => n.id === doc?.chains[0]?.tail);
  const commitEnd = tail?.commitEnd ?? 0;
  await expect("subscribers-follow", async () => workload.subscriberNext.every((n) => n >= commitEnd), 15_000, `subscribers did not reach the commit end ${commitEnd} (they are at ${workload.subscriberNext.join(", ")})`);
  await workload.stop();
  doc = await fetchCluster(cluster.masterUrl).catch(() => doc);
  return { liveness, doc };
}

/**
 * How long before a power loss of every node an acknowledged entry may still be lost (README).
 * "interval": the sync period, plus 500 ms for an fdatasync in flight on a busy disk. "none": not
 * bounded here — the simulated power loss keeps only what was fdatasynced, while a real kernel
 * would also have written back pages older than ~30 s, so the documented bound cannot be checked.
 */
export function lossWindowMs(sync: SyncPolicy, syncIntervalMs: number): number {
  return sync === "always" ? 0 : sync === "interval" ? syncIntervalMs + 500 : Infinity;
}

/** Reads every node's log (the cluster is stopped) and checks the history against them. */
export async function checkRun(dir: string, nodeNames: string[], events: HistoryEvent[], doc: ClusterDocument | null, losses: PowerLoss[], lossWindowMs: number): Promise<CheckResult> {
  const chain = doc?.chains[0];
  const members = chain?.members ?? [];
  const replicas: ReplicaLog[] = [];
  for (const node of nodeNames) {
    // A standby that never held a replica has no chain directory (and opening one would create it).
    const entries = existsSync(join(dir, node, "chain-1")) ? await readNodeLog(join(dir, node)) : [];
    replicas.push({ node, member: members.includes(node), recordedCommit: recordedCommit(join(dir, node)), entries });
  }
  // The tail's log is the one readers read; without a known tail, the longest log.
  const finalNode = chain?.tail ?? replicas.reduce((a, b) => (b.entries.length > a.entries.length ? b : a)).node;
  return check({ events, replicas, finalNode, losses, lossWindowMs });
}

function recordedCommit(nodeDir: string): number {
  const file = join(nodeDir, "chain-1", "commit-end");
  if (!existsSync(file)) return 0;
  return Number(readFileSync(file, "utf8").split(" ")[0]) || 0;
}

function rerunCommand(o: ChaosOptions): string {
  const parts = [`npm run chaos -- --seed ${o.seed} --duration ${o.durationS}`];
  if (o.sync && o.sync !== "always") parts.push(`--sync ${o.sync}`);
  if (o.syncIntervalMs !== undefined && o.syncIntervalMs !== 5) parts.push(`--sync-interval ${o.syncIntervalMs}`);
  if (o.nodes !== undefined && o.nodes !== 4) parts.push(`--nodes ${o.nodes}`);
  if (o.kinds) parts.push(`--faults ${o.kinds.join(",")}`);
  return parts.join(" ");
}

/** A few lines for a person: the verdict, the seed, each violation with its operations. */
export function describeReport(r: ChaosReport): string {
  const lines = [`chaos seed ${r.seed}: ${r.passed ? "PASSED" : "FAILED"} — faults ${JSON.stringify(r.faults)}; ${JSON.stringify(r.stats)}`];
  for (const v of r.violations) {
    lines.push(`  violated ${v.property}: ${v.message}`);
    for (const e of v.events ?? []) lines.push(`      ${JSON.stringify(e).slice(0, 400)}`);
  }
  if (!r.passed) {
    lines.push(`  counts: ${JSON.stringify(r.counts)}`);
    lines.push(`  kept: ${r.dir} (history.jsonl, schedule.json, report.json, cluster.json, <process>.log, data in <node>/)`);
    lines.push(`  same schedule again: ${r.rerun}; check the kept run again: bun tests/chaos/check.ts ${r.dir}`);
  }
  return lines.join("\n");
}
