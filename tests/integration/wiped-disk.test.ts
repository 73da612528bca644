// A member whose data directory is wiped and that comes back before the failure timeout (as if
// its disk had been replaced) must not rejoin the chain with its empty log: as head it would hand
// out offsets the chain already used, and the chain would stall. The master knows the chain's
// commit end from the members' reports; a sync = "always" member whose log ends below it lost
// acknowledged entries, so it leaves the chain and copies the log again.

import { expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { checkLogs, waitForCluster } from "../helpers/checks.ts";
import { startTestCluster } from "../helpers/cluster.ts";
import { startLoad } from "../helpers/load.ts";

test("a head wiped and restarted within the failure timeout leaves the chain, syncs back, and nothing acknowledged is lost", async () => {
  // A long failure timeout, so the wiped head is back while the master still counts it a member.
  const cluster = await startTestCluster({ masterSettings: { failure_timeout_ms: 4000 } });
  try {
    const load = await startLoad(cluster.masterUrl, 4, 8);
    await Bun.sleep(1500);
    await cluster.signal("head", "SIGKILL");
    rmSync(join(cluster.dir, "head"), { recursive: true, force: true });
    cluster.restart("head");
    const left = await waitForCluster(cluster, (d) => d.events.some((e) => e.kind === "joined" && /lost committed entries/.test(e.message)), 10_000, "the wiped head was not recognised");
    expect(left.chains[0].members).toEqual(["middle", "tail"]);
    await Bun.sleep(1000);
    await load.stop();
    expect(load.records.filter((r) => r.error).length).toBe(0);
    await waitForCluster(cluster, (d) => d.chains[0].members.join() === "middle,tail,head", 20_000, "the wiped head did not sync back in as the tail");
    await waitForCluster(
      cluster,
      (d) => d.nodes.every((n) => n.state === "serving" && n.logEnd !== null && n.logEnd === n.commitEnd) && new Set(d.nodes.map((n) => n.logEnd)).size === 1,
      15_000,
      "the nodes did not agree on one committed log",
    );
    for (const n of ["head", "middle", "tail"]) await cluster.signal(n, "SIGTERM");
    await checkLogs(cluster, ["head", "middle", "tail"], load.records);
  } finally {
    await cluster.cleanup();
  }
}, 90_000);

test("under sync = none, a head that comes back without its log is taken out by the master when its successor holds more, and the chain goes on", async () => {
  // The master's own check (the commit floor) is for sync = "always" nodes only; here the head finds
  // out in its handshake with the middle, which holds committed entries its log lacks, and says so.
  const cluster = await startTestCluster({ sync: "none", masterSettings: { failure_timeout_ms: 4000 } });
  try {
    const load = await startLoad(cluster.masterUrl, 4, 8);
    await Bun.sleep(1500);
    await cluster.signal("head", "SIGKILL");
    rmSync(join(cluster.dir, "head"), { recursive: true, force: true });
    cluster.restart("head");
    await waitForCluster(cluster, (d) => d.events.some((e) => e.kind === "reconfigured" && /lacks committed entries/.test(e.message)), 10_000, "the head's loss was not noticed");
    await Bun.sleep(1000);
    await load.stop();
    expect(load.records.filter((r) => r.error).length).toBe(0);
    await waitForCluster(cluster, (d) => d.chains[0].members.join() === "middle,tail,head", 20_000, "the head did not sync back in as the tail");
    await waitForCluster(
      cluster,
      (d) => d.nodes.every((n) => n.state === "serving" && n.logEnd !== null && n.logEnd === n.commitEnd) && new Set(d.nodes.map((n) => n.logEnd)).size === 1,
      15_000,
      "the nodes did not agree on one committed log",
    );
    for (const n of ["head", "middle", "tail"]) await cluster.signal(n, "SIGTERM");
    await checkLogs(cluster, ["head", "middle", "tail"], load.records);
  } finally {
    await cluster.cleanup();
  }
}, 90_000);
