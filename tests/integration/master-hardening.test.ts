// The master with the compiled binary, as an adversarial user finds it: a damaged state file, forged
// joins and heartbeats, a state file removed while the nodes hold data, and removing a node.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CatenaClient } from "../../src/client/client.ts";
import { freePort } from "../../src/cli/cluster-runner.ts";
import { waitForCluster } from "../helpers/checks.ts";
import { runCli, startTestCluster } from "../helpers/cluster.ts";
import { waitUntil } from "../helpers/wait.ts";

let cluster: Awaited<ReturnType<typeof startTestCluster>>;
let env: Record<string, string>;
const statePath = () => join(cluster.dir, "master", "master-state.json");
const post = (path: string, body: string) => fetch(`${cluster.masterUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });

beforeAll(async () => {
  cluster = await startTestCluster();
  env = { CATENA_MASTER: cluster.masterUrl };
  cluster.addNode("node4");
  await waitForCluster(cluster, (d) => d.nodes.some((n) => n.id === "node4" && n.state === "standby"), 15_000, "node4 did not join as a standby");
});

afterAll(async () => {
  await cluster?.cleanup();
});

test("a master whose state file is damaged exits 2 with one line naming the key, and never advises removing it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "catena-bad-state-"));
  try {
    mkdirSync(join(dir, "state"));
    writeFileSync(join(dir, "master.toml"), `[master]\nserver_addr = "127.0.0.1:${freePort()}"\nstate_dir = "${join(dir, "state")}"\n`);
    const state = { version: 1, chains: [{ chainId: 1, epoch: "x", members: [], syncing: null }], nodes: [] };
    writeFileSync(join(dir, "state", "master-state.json"), JSON.stringify(state));
    const r = await runCli(["master", "--config", join(dir, "master.toml")]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n").length).toBe(1);
    expect(r.stderr).toContain('chains[0].epoch: must be an integer from 0');
    expect(r.stderr).toContain("do not remove it while nodes hold data");
    writeFileSync(join(dir, "state", "master-state.json"), "null");
    const n = await runCli(["master", "--config", join(dir, "master.toml")]);
    expect(n.code).toBe(2);
    expect(n.stderr).not.toContain("evaluating");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("forged joins are refused and nothing of them is persisted", async () => {
  const before = readFileSync(statePath(), "utf8");
  const join = (over: Record<string, unknown>) => JSON.stringify({ id: "x1", clientAddr: "127.0.0.1:1", replicationAddr: "127.0.0.1:2", adminAddr: "127.0.0.1:3", chains: [], ...over });
  for (const body of [join({ id: "" }), join({ id: "../../etc" }), join({ clientAddr: "127.0.0.1:99999" }), join({ chains: [{ chainId: 1, epoch: "x", logEnd: 0, durableEnd: 0, ackableEnd: 0, commitEnd: 0, bytes: 0 }] })]) {
    const res = await post("/v1/nodes/join", body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain("join refused:");
  }
  const huge = await post("/v1/nodes/join", join({ id: "x".repeat(20 << 20) }));
  expect(huge.status).toBe(413);
  expect(readFileSync(statePath(), "utf8")).toBe(before);
});

test("a forged heartbeat claiming a huge commit end is refused or bounded, and never reaches the saved commit floor", async () => {
  const client = await CatenaClient.connect({ master: cluster.masterUrl });
  for (let i = 0; i < 20; i++) await client.append(`floor-${i}`);
  const doc = await waitForCluster(cluster, () => true, 1000, "");
  const epoch = doc.chains[0].epoch;
  const forged = (r: Record<string, number>) => post("/v1/nodes/heartbeat", JSON.stringify({ id: "tail", chains: [{ chainId: 1, epoch, logEnd: 1e12, durableEnd: 1e12, ackableEnd: 1e12, commitEnd: 1e12, bytes: 0, ...r }] }));
  expect((await forged({ logEnd: 5 })).status).toBe(400);
  for (let i = 0; i < 5; i++) await forged({});
  // Wait for a save of the commit floor made after the forged heartbeats: one that covers appends
  // acknowledged after them (the floor is saved at most once a second).
  for (let i = 0; i < 20; i++) await client.append(`floor-after-${i}`);
  const { commitEnd } = await client.latest();
  const savedFloor = () => (JSON.parse(readFileSync(statePath(), "utf8")).chains[0].commitFloor ?? 0) as number;
  await waitUntil(() => savedFloor() >= commitEnd, { timeoutMs: 10_000, what: `the master did not save a commit floor of ${commitEnd}`, lastSeen: () => `${savedFloor()}` });
  expect(savedFloor()).toBeLessThanOrEqual((await client.latest()).commitEnd);
  client.close();
});

test("catena nodes remove forgets a standby and refuses a member", async () => {
  const member = await runCli(["nodes", "remove", "middle"], { env });
  expect(member.code).toBe(1);
  expect(member.stderr).toContain("serves chain 1 as its middle");
  await cluster.signal("node4", "SIGTERM");
  const removed = await runCli(["nodes", "remove", "node4"], { env });
  expect(removed.stderr).toBe("");
  expect(removed.code).toBe(0);
  const doc = await waitForCluster(cluster, () => true, 1000, "");
  expect(doc.nodes.map((n) => n.id).sort()).toEqual(["head", "middle", "tail"]);
  const unknown = await runCli(["nodes", "remove", "node4"], { env });
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('no node "node4" is known');
});

test("a master restarted without its state file adopts the nodes' epochs, says so, and the chain serves again", async () => {
  const client = await CatenaClient.connect({ master: cluster.masterUrl, requestTimeoutMs: 20_000 });
  const first = await client.append("before-loss");
  await cluster.signal("master", "SIGTERM");
  rmSync(statePath());
  cluster.restart("master");
  await waitForCluster(cluster, (d) => d.chains[0].members.length === 3, 15_000, "the chain did not form again");
  const after = await client.append("after-loss");
  expect(after).toBe(first + 1);
  const status = await runCli(["status"], { env });
  expect(status.stdout).toContain("warning: the master's state is behind the nodes");
  const page = await client.read(first, { maxEntries: 10 });
  expect(page.entries.map((e) => new TextDecoder().decode(e.payload))).toEqual(["before-loss", "after-loss"]);
  client.close();
});
