// Two processes on one data directory: a second master on a live master's state_dir, or a second
// node (another id) on a live node's log.dir, must refuse to start (exit 2, one line naming the
// directory and the holder's PID) and must leave the first one's files alone.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../src/cli/cluster-runner.ts";
import { runCliWithin, startTestCluster } from "../helpers/cluster.ts";

let cluster: Awaited<ReturnType<typeof startTestCluster>>;

beforeAll(async () => {
  cluster = await startTestCluster();
});

afterAll(async () => {
  await cluster?.cleanup();
});

function pidOf(name: string): number {
  return cluster.processes.find((p) => p.name === name)!.proc.pid;
}

test("a second master on the same state_dir exits 2 naming the directory and the live master's PID, and leaves its state alone", async () => {
  const stateDir = join(cluster.dir, "master");
  const stateFile = join(stateDir, "master-state.json");
  const before = readFileSync(stateFile, "utf8");
  const mtimeBefore = statSync(stateFile).mtimeMs;
  const config = join(cluster.dir, "master2.toml");
  writeFileSync(config, `[master]\nserver_addr = "127.0.0.1:${freePort()}"\nstate_dir = "${stateDir}"\nreplication_factor = 3\n`);
  // Unlocked, the second master declared every node failed within 0.6 s and rewrote the state.
  const r = await runCliWithin(["master", "--config", config], 3000);
  expect(r.timedOut).toBe(false);
  expect(r.code).toBe(2);
  expect(r.stderr.trim()).toBe(`catena: ${stateDir}: in use by another catena master (PID ${pidOf("master")}); stop that process first, or give this one its own master.state_dir in ${config}`);
  expect(readFileSync(stateFile, "utf8")).toBe(before);
  expect(statSync(stateFile).mtimeMs).toBe(mtimeBefore);
});

test("a second node (another id) on the same log.dir exits 2 naming the directory and the live node's PID", async () => {
  const logDir = join(cluster.dir, "head");
  const config = join(cluster.dir, "intruder.toml");
  writeFileSync(
    config,
    `[node]\nid = "intruder"\n[log]\ndir = "${logDir}"\n[frontend]\nserver_addr = "127.0.0.1:0"\n[replication]\nserver_addr = "127.0.0.1:0"\n[admin]\nserver_addr = "127.0.0.1:0"\n[management]\nmanagement_server_addr = "${cluster.masterUrl.replace("http://", "")}"\n`,
  );
  const r = await runCliWithin(["node", "--config", config], 3000);
  expect(r.timedOut).toBe(false);
  expect(r.code).toBe(2);
  expect(r.stderr.trim()).toBe(`catena: ${logDir}: in use by another catena node (PID ${pidOf("head")}); stop that process first, or give this one its own log.dir in ${config}`);
  const members = ((await (await fetch(`${cluster.masterUrl}/v1/cluster`)).json()) as { chains: { members: string[] }[] }).chains[0].members;
  expect(members).toEqual(["head", "middle", "tail"]);
});
