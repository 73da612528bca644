// `catena demo`: a master and three nodes on this machine, shown live in the terminal UI (or, with
// --no-tui or without a terminal, as status lines), with keys to kill and restart nodes.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { CatenaClient, fetchCluster } from "../client/client.ts";
import { boolFlag, stringFlag, type Parsed } from "./args.ts";
import { startLocalCluster, type LocalCluster } from "./cluster-runner.ts";
import { selfCommand, untilSignal } from "./common.ts";

export async function runDemo(p: Parsed): Promise<number> {
  const given = stringFlag(p, "dir");
  const dir = given ? resolve(given) : mkdtempSync(join(tmpdir(), "catena-demo-"));
  const terminal = process.stdout.isTTY === true && process.stdin.isTTY === true;
  const tui = !boolFlag(p, "no-tui") && terminal;
  console.log(`starting a master and three nodes; data and logs in ${dir}`);
  const cluster = await startLocalCluster({ dir });
  const reason = tui ? await showTui(cluster) : await printStatus(cluster, !boolFlag(p, "no-tui"));
  console.log(`${reason}: stopping the cluster`);
  await cluster.stop();
  if (!given) rmSync(dir, { recursive: true, force: true });
  console.log("stopped");
  return 0;
}

/** Runs the TUI until the user quits it or a signal arrives; returns why it ended. */
async function showTui(cluster: LocalCluster): Promise<string> {
  const load = new DemoLoad(cluster.masterUrl);
  const running = (id: string) => {
    const proc = cluster.processes.find((x) => x.name === id)?.proc;
    return proc !== undefined && proc.exitCode === null && proc.signalCode === null;
  };
  const { startTui } = await import("../../tui/start.tsx"); // Ink and React only when shown
  const tui = startTui({
    master: cluster.masterUrl,
    demo: {
      kill: async (id) => {
        if (!running(id)) throw new Error(`${id} is not running; r starts it`);
        await cluster.signal(id, "SIGKILL");
      },
      restart: (id) => cluster.restart(id),
      startLoad: () => load.start(),
      stopLoad: () => void load.stop(),
    },
  });
  // SIGHUP too: a closed terminal window should still stop the cluster and remove its directory.
  const hangup = new Promise<string>((resolve) => process.once("SIGHUP", () => resolve("SIGHUP")));
  const reason = await Promise.race([tui.exited.then(() => "quit"), untilSignal(), hangup]);
  tui.close();
  await tui.exited;
  await load.stop();
  return reason;
}

/** A path as a person would type it from here: relative ("./dist/catena") when under the working
 * directory, else absolute. */
function shellPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") || isAbsolute(rel) ? path : `./${rel}`;
}

/** Today's status lines, every 2 s, until Ctrl-C or SIGTERM. */
async function printStatus(cluster: LocalCluster, wantedTui: boolean): Promise<string> {
  const bin = selfCommand().map(shellPath).join(" ");
  console.log(`
The chain is up: head -> middle -> tail, every entry fdatasynced on all three before it is acknowledged.
Try, in another terminal:
  export CATENA_MASTER=${cluster.masterUrl}
  ${bin} append hello world       # two entries, printed with their offsets
  ${bin} read --from 0            # committed entries
  ${bin} tail                     # follow new entries
  ${bin} status                   # the master's view
  ${bin} tui                      # the live view
Ctrl-C stops the cluster.${wantedTui ? "\n(Not a terminal: printing status lines instead of the terminal UI.)" : ""}
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
  console.log("");
  return signal;
}

/** The demo's append load: a few small batches in flight, paced; reconnects when the chain changes. */
class DemoLoad {
  static readonly inflightCountMax = 4;
  static readonly batchEntries = 4;
  static readonly payloadBytes = 64;
  static readonly entriesPerSecondMax = 5000;
  private running = false;
  private client: CatenaClient | null = null;
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly master: string) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.client?.close();
    await this.loop;
  }

  private async run(): Promise<void> {
    const payload = "x".repeat(DemoLoad.payloadBytes);
    const batch = Array.from({ length: DemoLoad.batchEntries }, () => payload);
    while (this.running) {
      try {
        this.client = await CatenaClient.connect({ master: this.master, requestTimeoutMs: 5000 });
      } catch {
        await Bun.sleep(500);
        continue;
      }
      const client = this.client;
      const batchIntervalMs = (1000 * DemoLoad.inflightCountMax * DemoLoad.batchEntries) / DemoLoad.entriesPerSecondMax;
      const worker = async () => {
        while (this.running) {
          const started = performance.now();
          await client.appendMany(batch);
          const idle = batchIntervalMs - (performance.now() - started);
          if (idle > 0) await Bun.sleep(idle);
        }
      };
      // The first failure (a node gone, a timeout) closes the client, which fails the others at once.
      await Promise.all(Array.from({ length: DemoLoad.inflightCountMax }, worker)).catch(() => client.close());
      client.close();
      this.client = null;
      if (this.running) await Bun.sleep(300);
    }
  }
}
