// The master's rules (src/chain/planner.ts) as transcripts: src/chain/testdata/planner/*.txt.
//
// Commands (time starts at 0 and moves only with `tick`):
//   start rf=3 failure=600 [state=FILE-LESS: chain=1 epoch=E members=(a,b) syncing=c nodes=(a,b,c) floor=N]
//   join ID [sync=always|interval|none] [log=N] [epoch=E] [limits=RECORD/BATCH] [port=P]
//   heartbeat ID [epoch=E] [log=N] [durable=N] [ackable=N] [commit=N] [checked] [lacks]
//       (unset numbers repeat the node's last report; the epoch defaults to its chain's current one)
//   tick DURATION [beat=(a,b)]   time passes in 50 ms steps; the listed nodes heartbeat at each
//   remove ID
//   status
// Output: "persist: ..." for each state the master must write, "event KIND: ..." for each event,
// and the answer to a join or heartbeat.

import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { ChainRecord, ChainReport, MasterState } from "../../src/chain/control.ts";
import { MasterPlanner, type Ready, type Step } from "../../src/chain/planner.ts";
import { listValue, parseCommand, runTranscript, type Command } from "../helpers/transcript.ts";

const DIR = join(import.meta.dir, "../../src/chain/testdata/planner");
const STEP_MS = 50;

function describeState(s: MasterState): string {
  const chains = s.chains.map((c) => `chain=${c.chainId} epoch=${c.epoch} members=(${c.members.join(",")}) syncing=${c.syncing ?? "-"}${c.commitFloor !== undefined ? ` floor=${c.commitFloor}` : ""}`);
  return `${chains.join(" ")} nodes=(${s.nodes.map((n) => n.id).join(",")})`;
}

class Driver {
  private planner: MasterPlanner | null = null;
  private now = 0;
  private readonly reports = new Map<string, ChainReport>();

  run(line: string): string[] {
    const cmd = parseCommand(line);
    switch (cmd.verb) {
      case "start":
        return this.start(cmd);
      case "join":
        return this.join(cmd);
      case "heartbeat":
        return this.heartbeat(cmd);
      case "tick":
        return this.tick(cmd);
      case "remove": {
        const step = this.p.removeNode(cmd.words[0], this.now);
        return [...this.ready(step), step.refused ? `refused: ${step.refused}` : "removed"];
      }
      case "status":
        return this.status();
      default:
        throw new Error(`unknown command "${cmd.verb}"`);
    }
  }

  private get p(): MasterPlanner {
    if (!this.planner) throw new Error("start first");
    return this.planner;
  }

  private chain(): ChainRecord {
    return this.p.state.chains[0];
  }

  private start(cmd: Command): string[] {
    const num = (k: string, d: number) => Number(cmd.values.get(k) ?? d);
    const nodes = listValue(cmd.values.get("nodes"));
    const state: MasterState = {
      version: 1,
      chains: [{ chainId: 1, epoch: num("epoch", 0), members: listValue(cmd.values.get("members")), syncing: cmd.values.get("syncing") ?? null, ...(cmd.values.has("floor") ? { commitFloor: num("floor", 0) } : {}) }],
      nodes: nodes.map((id) => address(id, portOf(id))),
    };
    this.now = 0;
    this.reports.clear();
    this.planner = new MasterPlanner({ replicationFactor: num("rf", 3), failureTimeoutMs: num("failure", 600) }, state, 0);
    return [`state: ${describeState(state)}`];
  }

  private report(id: string, cmd: Command): ChainReport {
    const last = this.reports.get(id) ?? { chainId: 1, epoch: 0, role: "none", logEnd: 0, durableEnd: 0, ackableEnd: 0, commitEnd: 0, bytes: 0 };
    const num = (k: string, d: number) => (cmd.values.has(k) ? Number(cmd.values.get(k)) : d);
    const logEnd = num("log", last.logEnd);
    const durableEnd = num("durable", cmd.values.has("log") ? logEnd : last.durableEnd);
    const r: ChainReport = {
      ...last,
      epoch: num("epoch", this.chain().epoch),
      logEnd,
      durableEnd,
      ackableEnd: num("ackable", cmd.values.has("log") || cmd.values.has("durable") ? durableEnd : last.ackableEnd),
      commitEnd: num("commit", last.commitEnd),
      checked: cmd.flags.has("checked"),
      lacksCommitted: cmd.flags.has("lacks"),
    };
    this.reports.set(id, r);
    return r;
  }

  private join(cmd: Command): string[] {
    const id = cmd.words[0];
    const limits = cmd.values.get("limits")?.split("/").map(Number);
    const port = Number(cmd.values.get("port") ?? portOf(id));
    const chains = cmd.values.has("log") || cmd.values.has("epoch") ? [this.report(id, cmd)] : [];
    return this.step(
      this.p.join({ ...address(id, port), chains, sync: cmd.values.get("sync") ?? "always", ...(limits ? { limits: { recordBytesMax: limits[0], batchBytesMax: limits[1] } } : {}) }, this.now),
    );
  }

  private heartbeat(cmd: Command): string[] {
    const id = cmd.words[0];
    return this.step(this.p.heartbeat(id, [this.report(id, cmd)], this.now));
  }

  private tick(cmd: Command): string[] {
    const ms = Number(/^(\d+)ms$/.exec(cmd.words[0] ?? "")?.[1] ?? NaN);
    if (!Number.isFinite(ms)) throw new Error(`tick needs a duration such as 600ms, got "${cmd.words[0]}"`);
    const beating = listValue(cmd.values.get("beat"));
    const out: string[] = [];
    for (let t = 0; t < ms; t += STEP_MS) {
      this.now += Math.min(STEP_MS, ms - t);
      for (const id of beating) {
        const r = { ...this.reports.get(id)!, epoch: this.chain().epoch, checked: this.reports.get(id)?.checked ?? false };
        this.reports.set(id, r);
        const step = this.p.heartbeat(id, [r], this.now);
        out.push(...this.ready(step).map((l) => `${id}: ${l}`));
      }
      out.push(...this.ready(this.p.tick(this.now)));
    }
    return out.length > 0 ? out : ["(nothing)"];
  }

  private ready(r: Ready): string[] {
    const out: string[] = [];
    if (r.state) out.push(`persist: ${describeState(r.state)}`);
    this.p.advance(r);
    for (const e of r.events) out.push(`event ${e.kind}: ${e.message}`);
    return out;
  }

  private step(s: Step): string[] {
    const out = this.ready(s);
    if (s.unknown && !s.refused) out.push("answer: unknown node, join first");
    else if (s.refused) out.push(`refused: ${s.refused}`);
    else out.push(`answer: ${s.chains.length === 0 ? "no chain" : s.chains.map((c) => `chain=${c.chainId} epoch=${c.epoch}`).join(" ")}`);
    return out;
  }

  private status(): string[] {
    const c = this.chain();
    const lines = [`t=${this.now}ms ${describeState(this.p.state)} waiting=${this.p.waitingFor(c.chainId) ?? "-"}`];
    for (const n of this.p.state.nodes) lines.push(`${n.id}: ${this.p.isFailed(n.id) ? "failed" : "alive"}, silent ${this.p.silenceMs(n.id, this.now)} ms`);
    return lines;
  }
}

/** Each node's usual ports: a at 7000, b at 7010, ...; `port=` on a join moves it. */
function portOf(id: string): number {
  return 7000 + 10 * (id.charCodeAt(0) - 97);
}

function address(id: string, port: number) {
  return { id, clientAddr: `127.0.0.1:${port}`, replicationAddr: `127.0.0.1:${port + 1}`, adminAddr: `127.0.0.1:${port + 2}` };
}

for (const name of readdirSync(DIR).filter((f) => f.endsWith(".txt")).sort()) {
  test(`planner transcript ${name}`, () => {
    const driver = new Driver();
    const mismatches = runTranscript(join(DIR, name), (line) => driver.run(line));
    const report = mismatches.map((m) => `${m.command}\n---- expected\n${m.expected.join("\n")}\n---- actual\n${m.actual.join("\n")}`).join("\n\n");
    expect(report).toBe("");
  });
}
