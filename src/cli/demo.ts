// `catena demo`: a master and three nodes on this machine, and how to reach them.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fetchCluster } from "../client/client.ts";
import { boolFlag, stringFlag, type Parsed } from "./args.ts";
import { startLocalCluster } from "./cluster-runner.ts";
import { untilSignal } from "./common.ts";

export async function runDemo(p: Parsed): Promise<number> {
  const given = stringFlag(p, "dir");
  const dir = given ? resolve(given) : mkdtempSync(join(tmpdir(), "catena-demo-"));
  console.log(`starting a master and three nodes; data and logs in ${dir}`);
  const cluster = await startLocalCluster({ dir });
  const bin = process.argv[0].endsWith("catena") ? process.argv[0] : "catena";
  console.log(`
The chain is up: head -> middle -> tail, every entry fdatasynced on all three before it is acknowledged.
Try, in another terminal:
  export CATENA_MASTER=${cluster.masterUrl}
  ${bin} append hello world       # two entries, printed with their offsets
  ${bin} read --from 0            # committed entries
  ${bin} tail                     # follow new entries
  ${bin} status                   # the master's view
Ctrl-C stops the cluster.${boolFlag(p, "no-tui") ? "" : "\n(The terminal UI is not built yet; printing status lines instead.)"}
`);
  let stopping = false;
  const ticker = setInterval(async () => {
    if (stopping) return;
    try {
      const doc = await fetchCluster(cluster.masterUrl, 1000);
      const chain = doc.chains[0];
      const nodes = doc.nodes.map((n) => `${n.id}(${n.role}) end=${n.logEnd ?? "-"} commit=${n.commitEnd ?? "-"}`).join("  ");
      console.log(`${new Date().toISOString().slice(11, 19)} epoch ${chain.epoch}  ${nodes}`);
    } catch (e) {
      console.log(`master unreachable: ${(e as Error).message}`);
    }
  }, 2000);
  const signal = await untilSignal();
  stopping = true;
  clearInterval(ticker);
  console.log(`\n${signal}: stopping the cluster`);
  await cluster.stop();
  if (!given) rmSync(dir, { recursive: true, force: true });
  console.log("stopped");
  return 0;
}
