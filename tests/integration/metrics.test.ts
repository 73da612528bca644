// /metrics on the master and every node of a running cluster (the compiled binary): each parses
// as strict Prometheus text, and after some appends every family holds sensible values. Also the
// log lines the processes write to their (non-terminal) stderr: JSON with the agreed fields.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CatenaClient, fetchCluster } from "../../src/client/client.ts";
import { startTestCluster } from "../helpers/cluster.ts";
import { type PromFamily, parsePrometheus, sampleOf } from "../helpers/prometheus.ts";

let cluster: Awaited<ReturnType<typeof startTestCluster>>;
const NODES = ["head", "middle", "tail"];
const APPENDS = 300;

beforeAll(async () => {
  cluster = await startTestCluster();
  const client = await CatenaClient.connect({ master: cluster.masterUrl });
  // Several in flight at once, so the head gathers some of them into shared batches.
  for (let i = 0; i < APPENDS; i += 10) await Promise.all(Array.from({ length: 10 }, (_, k) => client.append(`m${i + k}`)));
  client.close();
});

afterAll(async () => {
  await cluster?.cleanup();
});

async function scrape(base: string): Promise<Map<string, PromFamily>> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  return parsePrometheus(await res.text());
}

async function adminUrl(node: string): Promise<string> {
  const doc = await fetchCluster(cluster.masterUrl);
  return `http://${doc.nodes.find((n) => n.id === node)!.adminAddr}`;
}

/** Scrapes until `ready` holds (the head learns the commit end, heartbeats carry new offsets). */
async function scrapeUntil(base: string, ready: (m: Map<string, PromFamily>) => boolean, what: string): Promise<Map<string, PromFamily>> {
  const deadline = Date.now() + 10_000;
  let last = await scrape(base);
  while (!ready(last) && Date.now() < deadline) {
    await Bun.sleep(50);
    last = await scrape(base);
  }
  if (!ready(last)) throw new Error(`${what} within 10 s`);
  return last;
}

test("every node: offsets, counters, fsync and uncommitted entries; the head: one commit latency per batch", async () => {
  const epoch = (await fetchCluster(cluster.masterUrl)).chains[0].epoch;
  for (const node of NODES) {
    const labels = { node, chain: "1" };
    const committed = (m: Map<string, PromFamily>) => sampleOf(m, "catena_commit_end_offset", labels) === APPENDS;
    const m = await scrapeUntil(await adminUrl(node), committed, `${node} did not learn the commit end ${APPENDS}`);
    expect(sampleOf(m, "catena_log_end_offset", labels)).toBe(APPENDS);
    expect(sampleOf(m, "catena_durable_end_offset", labels)).toBe(APPENDS);
    expect(sampleOf(m, "catena_uncommitted_entries", labels)).toBe(0);
    expect(sampleOf(m, "catena_epoch", labels)).toBe(epoch);
    expect(sampleOf(m, "catena_appended_entries_total", labels)).toBe(APPENDS);
    expect(sampleOf(m, "catena_appended_bytes_total", labels)).toBeGreaterThan(APPENDS * 32);
    const batches = sampleOf(m, "catena_batches_total", labels);
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThanOrEqual(APPENDS);
    const fsyncs = sampleOf(m, "catena_fsync_seconds_count", labels);
    expect(fsyncs).toBeGreaterThan(0);
    // Each fsync takes some time, and under a second here: in seconds, not milliseconds.
    const fsyncSeconds = sampleOf(m, "catena_fsync_seconds_sum", labels);
    expect(fsyncSeconds).toBeGreaterThan(0);
    expect(fsyncSeconds).toBeLessThan(fsyncs);
    const commits = sampleOf(m, "catena_commit_latency_seconds_count", labels);
    // Only the head times batches: each batch it wrote, once, when it learned of its commit.
    expect(commits).toBe(node === "head" ? batches : 0);
    expect(sampleOf(m, "catena_commit_latency_seconds_bucket", { ...labels, le: "+Inf" })).toBe(commits);
  }
});

test("the master: chains, epochs, reconfigurations, nodes by state, heartbeat age and lag per node", async () => {
  const caughtUp = (m: Map<string, PromFamily>) => NODES.every((node) => sampleOf(m, "catena_replication_lag_entries", { chain: "1", node }) === 0);
  const m = await scrapeUntil(cluster.masterUrl, caughtUp, "the master did not see every node at the head's log end");
  const epoch = (await fetchCluster(cluster.masterUrl)).chains[0].epoch;
  expect(sampleOf(m, "catena_chains")).toBe(1);
  expect(sampleOf(m, "catena_chain_epoch", { chain: "1" })).toBe(epoch);
  expect(sampleOf(m, "catena_chain_members", { chain: "1" })).toBe(3);
  // A fresh master: every epoch of the chain was a change made by this process.
  expect(sampleOf(m, "catena_reconfigurations_total", { chain: "1" })).toBe(epoch);
  expect(epoch).toBeGreaterThanOrEqual(3);
  expect(sampleOf(m, "catena_nodes", { state: "serving" })).toBe(3);
  for (const state of ["syncing", "standby", "failed"]) expect(sampleOf(m, "catena_nodes", { state })).toBe(0);
  // Every node is serving, so each heard from within the failure timeout: in seconds, not ms.
  const failureTimeoutSeconds = Number((await fetchCluster(cluster.masterUrl)).failureTimeoutMs) / 1000;
  expect(failureTimeoutSeconds).toBeGreaterThan(0);
  for (const node of NODES) {
    const age = sampleOf(m, "catena_node_heartbeat_age_seconds", { node });
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(failureTimeoutSeconds);
  }
});

test("/health and /health/ready answer on the master and every node", async () => {
  for (const node of NODES) {
    const base = await adminUrl(node);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
  }
  expect((await fetch(`${cluster.masterUrl}/health`)).status).toBe(200);
  const ready = await fetch(`${cluster.masterUrl}/health/ready`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toEqual({ ready: true, chains: [{ chainId: 1, status: "serving" }] });
});

test("log lines are JSON with time, level, node or role, and chain and epoch on a replica's lines", () => {
  const lines = (name: string) => readFileSync(join(cluster.dir, `${name}.log`), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const line of lines("master")) {
    expect(line).toMatchObject({ role: "master" });
    expect(Object.keys(line).slice(0, 2)).toEqual(["time", "level"]);
    expect(typeof line.message).toBe("string");
  }
  for (const node of NODES) {
    const all = lines(node);
    for (const line of all) expect(line).toMatchObject({ node });
    const applied = all.filter((l) => l.message === "chain layout applied");
    expect(applied.length).toBeGreaterThan(0);
    for (const line of applied) {
      expect(Object.keys(line).slice(0, 6)).toEqual(["time", "level", "node", "chain", "epoch", "message"]);
      expect(line.chain).toBe(1);
      expect(typeof line.epoch).toBe("number");
    }
  }
});
