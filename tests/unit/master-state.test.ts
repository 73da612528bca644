// The master's state file and node API are checked before the master acts on them, its history
// folds repeated refusals, it adopts the nodes' epochs when its state is behind, and its failure
// detector does not blame nodes for the master's own stalls, however long.

import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, parseMasterConfig } from "../../src/config/index.ts";
import { Master, RemoveRefused, ReportRefused, type ChainReport } from "../../src/master/master.ts";
import { parseHeartbeat, parseJoin } from "../../src/master/node-requests.ts";
import { LayoutRefused, parseLayout } from "../../src/node/layout.ts";
import { createLogger } from "../../src/util/logger.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function stateDir(content?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "catena-master-state-"));
  dirs.push(dir);
  mkdirSync(join(dir, "state"));
  if (content !== undefined) writeFileSync(join(dir, "state", "master-state.json"), content);
  return dir;
}

function newMaster(dir: string, clock?: () => number): Master {
  const config = parseMasterConfig(`[master]\nserver_addr = "127.0.0.1:0"\nstate_dir = "${join(dir, "state")}"\n`, "test.toml");
  return new Master(config, createLogger({ role: "master" }, { write: () => {} }), clock);
}

const node = (id: string, port: number) => ({ id, clientAddr: `127.0.0.1:${port}`, replicationAddr: `127.0.0.1:${port + 1}`, adminAddr: `127.0.0.1:${port + 2}` });
const good = { version: 1, chains: [{ chainId: 1, epoch: 4, members: ["a", "b"], syncing: null, commitFloor: 10 }], nodes: [node("a", 1000), node("b", 2000)] };

function withChain(change: (c: Record<string, unknown>) => void): string {
  const doc = structuredClone(good) as unknown as { chains: Record<string, unknown>[] };
  change(doc.chains[0]);
  return JSON.stringify(doc);
}

const damaged: [string, string, string][] = [
  ["a string epoch", withChain((c) => (c.epoch = "x")), "chains[0].epoch"],
  ["a negative epoch", withChain((c) => (c.epoch = -1)), "chains[0].epoch"],
  ["an epoch of 1e300", withChain((c) => (c.epoch = 1e300)), "chains[0].epoch"],
  ["an unknown member", withChain((c) => (c.members = ["a", "zed"])), "chains[0].members[1]"],
  ["a duplicate member", withChain((c) => (c.members = ["a", "a"])), "chains[0].members[1]"],
  ["a syncing node that is also a member", withChain((c) => (c.syncing = "a")), "chains[0].syncing"],
  ["commitFloor -1", withChain((c) => (c.commitFloor = -1)), "chains[0].commitFloor"],
  ["null", "null", "(document)"],
  ["not JSON", "{", ""],
  ["a node with a bad address", JSON.stringify({ ...good, nodes: [node("a", 1000), { ...node("b", 2000), clientAddr: "x" }] }), "nodes[1].clientAddr"],
];

for (const [what, content, key] of damaged) {
  test(`a state file with ${what} refuses to start, naming ${key || "the file"}, and never advises removing it`, () => {
    const dir = stateDir(content);
    let error: unknown;
    try {
      newMaster(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain(join(dir, "state", "master-state.json"));
    if (key) expect(message).toContain(`${key}: `);
    expect(message).not.toContain("\n");
    expect(message).toContain("do not remove it while nodes hold data");
    expect(message).not.toMatch(/remove it to start|delete it/);
  });
}

test("a good state file loads", () => {
  const master = newMaster(stateDir(JSON.stringify(good)));
  expect(master.cluster().chains[0]).toMatchObject({ epoch: 4, members: ["a", "b"] });
});

const report = (over: Partial<ChainReport> = {}): ChainReport => ({ chainId: 1, epoch: 0, role: "none", logEnd: 0, durableEnd: 0, ackableEnd: 0, commitEnd: 0, bytes: 0, ...over });

test("join bodies are checked: id rules, addresses, report numbers", () => {
  const ok = { ...node("a", 1000), chains: [report()], sync: "always" };
  expect(typeof parseJoin(ok)).toBe("object");
  expect(parseJoin({ ...ok, id: "" })).toContain("id must be");
  expect(parseJoin({ ...ok, id: "../../etc" })).toContain("id must be");
  expect(parseJoin({ ...ok, id: "x".repeat(65) })).toContain("id must be");
  expect(parseJoin({ ...ok, clientAddr: "127.0.0.1:99999" })).toContain("clientAddr port must be");
  expect(parseJoin({ ...ok, chains: [report({ epoch: 1e300 })] })).toContain("chains[0].epoch");
  expect(parseJoin({ ...ok, chains: [report({ commitEnd: -1 })] })).toContain("chains[0].commitEnd");
  expect(parseJoin({ ...ok, sync: "sometimes" })).toContain("sync must be");
  expect(parseHeartbeat({ id: "a", chains: [report({ logEnd: 1.5 })] })).toContain("chains[0].logEnd");
});

test("nodes refuse a layout whose epoch is not a safe integer", () => {
  const layout = { chainId: 1, epoch: 3, members: [{ id: "a", clientAddr: "127.0.0.1:1", replicationAddr: "127.0.0.1:2" }], syncing: null };
  expect(parseLayout(layout).epoch).toBe(3);
  for (const epoch of ["x", null, -1, 1e300, 2.5]) {
    expect(() => parseLayout({ ...layout, epoch } as never)).toThrow(LayoutRefused);
  }
  expect(() => parseLayout({ ...layout, members: [{ id: "../x", clientAddr: "127.0.0.1:1", replicationAddr: "127.0.0.1:2" }] })).toThrow(LayoutRefused);
});

/** A master with chain a -> b -> c, every member reporting in the current epoch. */
function threeMembers(master: Master, over: Partial<ChainReport> = {}): number {
  const epoch = () => master.cluster().chains[0].epoch;
  const beat = (id: string, checked = false) => master.heartbeat(id, [report({ epoch: epoch(), checked, ...over })]);
  master.join({ ...node("a", 1000), chains: [], sync: "always" });
  for (const [id, port] of [["b", 2000], ["c", 3000]] as const) {
    master.join({ ...node(id, port), chains: [], sync: "always" });
    for (const member of master.cluster().chains[0].members) beat(member);
    beat(id, true);
    master.tick();
  }
  for (const id of ["a", "b", "c"]) beat(id);
  expect(master.cluster().chains[0].members).toEqual(["a", "b", "c"]);
  return epoch();
}

test("a forged report of a huge commit end does not raise the commit floor past what every member holds", () => {
  const dir = stateDir();
  const master = newMaster(dir);
  const epoch = threeMembers(master, { logEnd: 50, durableEnd: 50, ackableEnd: 50, commitEnd: 40 });
  master.heartbeat("c", [report({ epoch, logEnd: 1e12, durableEnd: 1e12, ackableEnd: 1e12, commitEnd: 1e12 })]);
  master.tick();
  const saved = JSON.parse(readFileSync(join(dir, "state", "master-state.json"), "utf8"));
  expect(saved.chains[0].commitFloor).toBe(40);
  expect(() => master.heartbeat("c", [report({ epoch, logEnd: 10, commitEnd: 1e12 })])).toThrow(ReportRefused);
  expect(master.events.at(-1)).toMatchObject({ kind: "refused" });
  master.stop();
});

test("a node id in use twice is one refused event with a count, not a flood", () => {
  const master = newMaster(stateDir());
  master.join({ ...node("a", 1000), chains: [], sync: "always" });
  for (let i = 0; i < 50; i++) expect(() => master.join({ ...node("a", 5000), chains: [], sync: "always" })).toThrow();
  const refused = master.events.filter((e) => e.kind === "refused");
  expect(refused.length).toBe(1);
  expect(refused[0].count).toBe(50);
  master.stop();
});

test("a master whose state is behind the nodes adopts their epoch and says so", () => {
  const master = newMaster(stateDir());
  const answer = master.join({ ...node("a", 1000), chains: [report({ epoch: 17, logEnd: 5 })], sync: "always" });
  expect(answer[0].epoch).toBeGreaterThan(17);
  const warning = master.events.find((e) => e.kind === "warning");
  expect(warning?.message).toContain("the master's state is behind the nodes: node a reports epoch 17");
  master.stop();
});

test("a jump of the master's monotonic clock by hours fails no live node, and hides no dead one", () => {
  let now = 1_000;
  const master = newMaster(stateDir(), () => now);
  const epoch = threeMembers(master);
  const beat = (...ids: string[]) => {
    for (const id of ids) master.heartbeat(id, [report({ epoch })]);
  };
  const run = (steps: number, ...beating: string[]) => {
    for (let i = 0; i < steps; i++) {
      now += 50;
      beat(...beating);
      master.tick();
    }
  };
  run(10, "a", "b", "c");
  // 2 h pass for the master alone (a VM resumed), seen first by the failure detector's timer...
  now += 2 * 3600 * 1000;
  master.tick();
  run(2, "a", "b", "c");
  // ...and again, seen first by one node's heartbeat read before the timer runs.
  now += 2 * 3600 * 1000;
  beat("a");
  master.tick();
  run(2, "a", "b", "c");
  expect(master.events.filter((e) => e.kind === "failed")).toEqual([]);
  // The node whose heartbeat saw the jump then dies: it is found out within the failure timeout.
  run(20, "b", "c");
  expect(master.events.filter((e) => e.kind === "failed").map((e) => e.nodeId)).toEqual(["a"]);
  master.stop();
});

test("nodes remove: a standby or failed node goes; a member or an unknown id is refused", () => {
  const master = newMaster(stateDir());
  threeMembers(master);
  master.join({ ...node("d", 4000), chains: [], sync: "always" });
  expect(() => master.removeNode("b")).toThrow(/serves chain 1 as its middle/);
  expect(() => master.removeNode("zed")).toThrow(RemoveRefused);
  master.removeNode("d");
  expect(master.cluster().nodes.map((n) => n.id)).toEqual(["a", "b", "c"]);
  expect(master.events.at(-1)).toMatchObject({ kind: "removed", nodeId: "d" });
  master.stop();
});
