// Runs a nemesis schedule against a ChaosCluster, in real time, recording every action in the
// history. Each fault heals itself when its time is up; a step's faults run side by side.

import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fetchCluster } from "../../src/client/client.ts";
import type { ChaosCluster } from "./cluster.ts";
import { cutToSynced, flipByte, logEnds } from "./disk.ts";
import type { History } from "./history.ts";
import type { Prng } from "./prng.ts";
import type { Fault, Step } from "./schedule.ts";

export interface PowerLoss {
  killedAt: number;
  restartedAt: number;
  /** The lowest log end (chain 1) that the chain's members and syncing node kept through the cut,
   * as the master listed them just before the kills; absent when the master could not say. Every
   * member held every committed entry, so a loss cannot excuse an acknowledged entry below it. */
  keptEnd?: number;
  /** Each of those nodes' log end after the cut. */
  kept?: Record<string, number>;
}

export interface NemesisFinding {
  property: string;
  message: string;
}

export class Nemesis {
  /** Each power loss of every node at once: when the kills began, and when the nodes were started
   * again (every operation recorded before then belongs to the log as it was before the loss). */
  readonly losses: PowerLoss[] = [];
  readonly findings: NemesisFinding[] = [];
  readonly applied: Record<string, number> = {};
  private stopped = false;

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly history: History,
    private readonly rng: Prng,
  ) {}

  /** Runs the steps at their times; returns early (after healing the current step) once stop() is called. */
  async run(steps: Step[], startedAt: number): Promise<void> {
    for (const step of steps) {
      const wait = startedAt + step.at - performance.now();
      if (wait > 0) await this.sleep(wait);
      if (this.stopped) return;
      await Promise.all(step.faults.map((f) => this.apply(f).catch((e) => this.harnessError(f, e))));
    }
  }

  /** A fault that could not be carried out is the harness's problem, but it must not pass unseen. */
  private harnessError(f: Fault, e: unknown): void {
    this.history.nemesis("error", { fault: f, error: String((e as Error)?.stack ?? e) });
    this.findings.push({ property: "harness", message: `the nemesis failed to apply ${JSON.stringify(f)}: ${(e as Error)?.message ?? e}` });
  }

  stop(): void {
    this.stopped = true;
  }

  private async sleep(ms: number): Promise<void> {
    const until = performance.now() + ms;
    while (!this.stopped && performance.now() < until) await Bun.sleep(Math.min(100, until - performance.now()));
  }

  private async apply(f: Fault): Promise<void> {
    const c = this.cluster;
    const why = await this.refusal(f);
    if (why) {
      this.history.nemesis("skipped", { fault: f, why });
      return;
    }
    this.applied[f.kind] = (this.applied[f.kind] ?? 0) + 1;
    this.history.nemesis("start", f);
    switch (f.kind) {
      case "kill":
        await c.kill(f.target);
        await Bun.sleep(f.downMs);
        c.start(f.target);
        break;
      case "pause":
        c.pause(f.target);
        await Bun.sleep(f.pauseMs);
        c.resume(f.target);
        break;
      case "partition":
        for (const l of f.links) c.links.get(l)!.setMode({ kind: "blackhole" });
        await Bun.sleep(f.durationMs);
        for (const l of f.links) {
          const link = c.links.get(l)!;
          if (f.resetAtEnd) link.reset();
          link.setMode({ kind: "pass" });
        }
        break;
      case "delay":
        for (const l of f.links) c.links.get(l)!.setMode({ kind: "delay", ms: f.ms });
        await Bun.sleep(f.durationMs);
        for (const l of f.links) c.links.get(l)!.setMode({ kind: "pass" });
        break;
      case "reset": {
        const until = performance.now() + f.durationMs;
        do {
          for (const l of f.links) c.links.get(l)!.reset();
          if (f.everyMs === null) break;
          await Bun.sleep(f.everyMs);
        } while (performance.now() < until);
        break;
      }
      case "power-loss":
        await c.kill(f.target);
        this.history.nemesis("cut", { node: f.target, changes: cutToSynced(c.nodeDir(f.target), c.syncedFile(f.target), this.rng) });
        await Bun.sleep(f.downMs);
        c.start(f.target);
        break;
      case "power-loss-all": {
        // Who holds every committed entry: the members (and the syncing node, which only lowers
        // the bound), as the master lists them now. No answer within 300 ms: no bound.
        const doc = await fetchCluster(c.masterUrl, 300).catch(() => null);
        const holders = doc?.chains[0] ? [...doc.chains[0].members, ...(doc.chains[0].syncing ? [doc.chains[0].syncing] : [])] : [];
        const killedAt = performance.now();
        await Promise.all(c.nodeNames.map((n) => c.kill(n)));
        for (const n of c.nodeNames) this.history.nemesis("cut", { node: n, changes: cutToSynced(c.nodeDir(n), c.syncedFile(n), this.rng) });
        const kept: Record<string, number> = {};
        for (const n of holders) kept[n] = logEnds(c.nodeDir(n)).get("1") ?? 0;
        // Let replies that arrived before the kills be recorded before the era boundary.
        await Bun.sleep(Math.max(f.downMs, 20));
        const loss: PowerLoss = { killedAt, restartedAt: performance.now(), ...(holders.length > 0 ? { keptEnd: Math.min(...Object.values(kept)), kept } : {}) };
        this.losses.push(loss);
        this.history.nemesis("all-lost", loss);
        for (const n of c.nodeNames) c.start(n);
        break;
      }
      case "bitflip": {
        await c.kill(f.target);
        const change = flipByte(c.nodeDir(f.target), this.rng);
        this.history.nemesis("flip", { node: f.target, change });
        await Bun.sleep(f.downMs);
        const logFile = join(c.opts.dir, `${f.target}.log`);
        const logFrom = statSync(logFile).size;
        c.start(f.target);
        if (change) await this.expectDetected(f.target, logFile, logFrom, change.what);
        break;
      }
    }
    this.history.nemesis("end", f);
  }

  /** Why a fault cannot run now, or null. Destroying data is fair only while another replica holds it. */
  private async refusal(f: Fault): Promise<string | null> {
    const c = this.cluster;
    if ("target" in f && (c.isPaused(f.target) || !c.isRunning(f.target))) return `${f.target} is paused or down`;
    const destroys = f.kind === "bitflip" || (f.kind === "power-loss" && c.opts.sync !== "always");
    if (!destroys) return null;
    const doc = await fetchCluster(c.masterUrl, 1000).catch(() => null);
    const chain = doc?.chains[0];
    if (!doc || !chain) return "the master cannot say which replicas serve";
    const target = (f as { target: string }).target;
    const others = chain.members.filter((m) => m !== target && doc.nodes.find((n) => n.id === m)?.state === "serving" && c.isRunning(m) && !c.isPaused(m));
    return others.length >= 1 ? null : `no other serving member holds ${target}'s data (members: ${chain.members.join(", ")})`;
  }

  /** The restarted node must report the damage at recovery (and so never serve it). */
  private async expectDetected(node: string, logFile: string, from: number, what: string): Promise<void> {
    const deadline = performance.now() + 10_000;
    while (performance.now() < deadline) {
      const text = readFileSync(logFile, "utf8").slice(from);
      if (text.includes("log recovery cut a torn or corrupt tail")) return;
      if (text.includes("replica opened")) break;
      await Bun.sleep(100);
    }
    this.findings.push({ property: "bitflip-detected", message: `${node} restarted after a flipped byte (${what}) without reporting it at recovery; see ${logFile}` });
  }
}
