// Failover with the compiled binary: kill -9 the head, a middle or the tail while four clients
// append; afterwards every acknowledged append is present exactly once, at its acknowledged offset,
// on every surviving node. The killed node is restarted and syncs back in as the tail.

import { describe, expect, test } from "bun:test";
import { checkLogs, waitForCluster, type Cluster } from "../helpers/checks.ts";
import { startTestCluster } from "../helpers/cluster.ts";
import { moreAcked, startLoad, unavailabilityMs } from "../helpers/load.ts";

async function settle(cluster: Cluster, survivors: string[]): Promise<void> {
  await waitForCluster(cluster, (d) => survivors.every((id) => {
    const n = d.nodes.find((x) => x.id === id)!;
    return n.state === "serving" && n.logEnd !== null && n.logEnd === n.commitEnd;
  }) && new Set(survivors.map((id) => d.nodes.find((x) => x.id === id)!.logEnd)).size === 1, 15_000, "the survivors did not agree on one committed log");
}

describe.each(["head", "middle", "tail"] as const)("kill -9 the %s under load", (victim) => {
  test(`nothing acknowledged is lost or duplicated; the chain goes on; ${victim} syncs back in`, async () => {
    const cluster = await startTestCluster();
    try {
      const load = await startLoad(cluster.masterUrl, 4, 8);
      await moreAcked(load, 500, "the load did not start");
      const killedAt = performance.now();
      await cluster.signal(victim, "SIGKILL");
      await waitForCluster(cluster, (d) => !d.chains[0].members.includes(victim), 5000, `${victim} was not removed`);
      await moreAcked(load, 500, `appends did not go on without the ${victim}`);
      await load.stop();
      const window = unavailabilityMs(load.records, killedAt);
      console.log(`write unavailability after kill -9 of the ${victim}: ${window === null ? "none measured" : `${Math.round(window)} ms`}; ${load.records.filter((r) => r.offset !== null).length} appends acknowledged, ${load.records.filter((r) => r.error).length} failed`);
      expect(window).not.toBeNull();
      expect(load.records.filter((r) => r.error).length).toBe(0);
      const survivors = ["head", "middle", "tail"].filter((n) => n !== victim);
      await settle(cluster, survivors);

      cluster.restart(victim);
      const doc = await waitForCluster(cluster, (d) => d.chains[0].members.length === 3 && d.chains[0].members[2] === victim, 20_000, `${victim} did not sync back in as the tail`);
      expect(doc.events.some((e) => e.kind === "caught-up")).toBe(true);
      await settle(cluster, ["head", "middle", "tail"]);
      for (const n of ["head", "middle", "tail"]) await cluster.signal(n, "SIGTERM");
      await checkLogs(cluster, ["head", "middle", "tail"], load.records);
    } finally {
      await cluster.cleanup();
    }
  });
});
