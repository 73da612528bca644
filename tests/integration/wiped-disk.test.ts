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
import { moreAcked, startLoad } from "../helpers/load.ts";

/**
 * Under load, kills the head, wipes its data directory and restarts it at once (within the failure
 * timeout). `noticed` is the event that shows the loss was recognised and the head left the chain.
 * Then: no append failed, the head syncs back in as the tail, and every acknowledged append is
 * on every node exactly once at its offset.
 */
async function wipeHeadAndRestart(sync: "always" | "none", noticed: (e: { kind: string; message: string }) => boolean, what: string): Promise<void> {
  // A long failure timeout, so the wiped head is back while the master still counts it a member.
  const cluster = await startTestCluster({ sync, masterSettings: { failure_timeout_ms: 4000 } });
  try {
    const load = await startLoad(cluster.masterUrl, 4, 8);
    await moreAcked(load, 500, "the load did not start");
    await cluster.signal("head", "SIGKILL");
    rmSync(join(cluster.dir, "head"), { recursive: true, force: true });
    cluster.restart("head");
    const left = await waitForCluster(cluster, (d) => d.events.some(noticed), 10_000, what);
    expect(left.chains[0].members).toEqual(["middle", "tail"]);
    await moreAcked(load, 300, "appends did not go on once the wiped head left the chain");
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
}

test("a head wiped and restarted within the failure timeout leaves the chain, syncs back, and nothing acknowledged is lost", () =>
  wipeHeadAndRestart("always", (e) => e.kind === "joined" && /lost committed entries/.test(e.message), "the wiped head was not recognised"), 90_000);

// The master's own check (the commit floor) is for sync = "always" nodes only; here the head finds
// out in its handshake with the middle, which holds committed entries its log lacks, and says so.
test("under sync = none, a head that comes back without its log is taken out by the master when its successor holds more, and the chain goes on", () =>
  wipeHeadAndRestart("none", (e) => e.kind === "reconfigured" && /lacks committed entries/.test(e.message), "the head's loss was not noticed"), 90_000);
