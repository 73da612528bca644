// The nemesis schedule: a pure function of the seed, the duration and the cluster's shape, so the
// same seed always plans the same faults at the same times. (Whether a planned fault can run is
// decided when it is due — e.g. a bit flip needs another serving replica — and recorded.)

import { Prng } from "./prng.ts";

export type Fault =
  /** kill -9, then start again after downMs (a node, or the master). */
  | { kind: "kill"; target: string; downMs: number }
  /** SIGSTOP, SIGCONT after pauseMs: longer than the failure timeout (600 ms) makes a failover. */
  | { kind: "pause"; target: string; pauseMs: number }
  /** Every listed link blackholed for durationMs; connections cut at the end when resetAtEnd. */
  | { kind: "partition"; label: string; links: string[]; durationMs: number; resetAtEnd: boolean }
  | { kind: "delay"; label: string; links: string[]; ms: number; durationMs: number }
  /** Cut every connection on the links, once, or every everyMs for durationMs (a flapping link). */
  | { kind: "reset"; label: string; links: string[]; durationMs: number; everyMs: number | null }
  /** kill -9, files cut back to what was fdatasynced, start again after downMs. */
  | { kind: "power-loss"; target: string; downMs: number }
  | { kind: "power-loss-all"; downMs: number }
  /** kill -9, one byte of a segment's records changed, start again after downMs. */
  | { kind: "bitflip"; target: string; downMs: number };

export interface Step {
  /** ms after the run started */
  at: number;
  faults: Fault[];
}

const WARMUP_MS = 2000;
/** Room left after the last fault for the cluster to heal and the checker to run. */
const COOLDOWN_MS = 2000;

const WEIGHTS: [Fault["kind"], number][] = [
  ["kill", 4],
  ["pause", 3],
  ["partition", 4],
  ["delay", 2],
  ["reset", 2],
  ["power-loss", 2],
  ["power-loss-all", 1],
  ["bitflip", 1],
];
/** Faults that may run beside another one in the same step. */
const COMBINABLE: Fault["kind"][] = ["kill", "pause", "partition", "delay", "reset"];

function linkGroups(nodes: string[], rng: Prng): { label: string; links: string[] } {
  const x = rng.pick(nodes);
  const all = [...nodes.flatMap((n) => [`${n}.client`, `${n}.repl`, `${n}->master`]), "clients->master"];
  return rng.pick([
    { label: `isolate ${x}`, links: [`${x}.client`, `${x}.repl`, `${x}->master`] },
    { label: `${x} from the master`, links: [`${x}->master`] },
    { label: `${x} from the master and its clients`, links: [`${x}->master`, `${x}.client`] },
    { label: `${x} from its peers and clients (the master still hears it)`, links: [`${x}.client`, `${x}.repl`] },
    { label: `replication into ${x}`, links: [`${x}.repl`] },
    { label: `clients to ${x}`, links: [`${x}.client`] },
    { label: "clients from the master", links: ["clients->master"] },
    { label: "every link", links: all },
  ]);
}

function pickKind(rng: Prng, allowed: Fault["kind"][]): Fault["kind"] {
  const weights = WEIGHTS.filter(([k]) => allowed.includes(k));
  let r = rng.next() * weights.reduce((s, [, w]) => s + w, 0);
  for (const [k, w] of weights) if ((r -= w) < 0) return k;
  return weights[weights.length - 1][0];
}

function makeFault(kind: Fault["kind"], nodes: string[], rng: Prng): Fault {
  const anyProcess = () => (rng.chance(0.2) ? "master" : rng.pick(nodes));
  switch (kind) {
    case "kill":
      return { kind, target: anyProcess(), downMs: rng.int(0, 3000) };
    case "pause":
      return { kind, target: anyProcess(), pauseMs: rng.pick([rng.int(100, 500), rng.int(500, 3000)]) };
    case "partition":
      return { kind, ...linkGroups(nodes, rng), durationMs: rng.int(300, 4000), resetAtEnd: rng.chance(0.5) };
    case "delay":
      return { kind, ...linkGroups(nodes, rng), ms: rng.pick([rng.int(1, 20), rng.int(20, 300)]), durationMs: rng.int(1000, 5000) };
    case "reset":
      return { kind, ...linkGroups(nodes, rng), durationMs: rng.int(200, 3000), everyMs: rng.chance(0.4) ? rng.int(50, 500) : null };
    case "power-loss":
      return { kind, target: rng.pick(nodes), downMs: rng.int(0, 3000) };
    case "power-loss-all":
      return { kind, downMs: rng.int(0, 2000) };
    case "bitflip":
      return { kind, target: rng.pick(nodes), downMs: rng.int(0, 2000) };
  }
}

/** How long a fault keeps its target faulty. */
export function faultMs(f: Fault): number {
  if (f.kind === "kill" || f.kind === "power-loss" || f.kind === "power-loss-all" || f.kind === "bitflip") return f.downMs;
  if (f.kind === "pause") return f.pauseMs;
  return f.durationMs;
}

function targets(f: Fault, nodes: string[]): string[] {
  if ("target" in f) return [f.target];
  if (f.kind === "power-loss-all") return nodes;
  return f.links.map((l) => l.split(/[.>-]/)[0]);
}

export function makeSchedule(seed: number, durationMs: number, nodes: string[], kinds: Fault["kind"][] = WEIGHTS.map(([k]) => k)): Step[] {
  const rng = new Prng(seed);
  const steps: Step[] = [];
  let t = WARMUP_MS;
  while (t < durationMs - COOLDOWN_MS) {
    const first = makeFault(pickKind(rng, kinds), nodes, rng);
    const faults = [first];
    const combinable = COMBINABLE.filter((k) => kinds.includes(k));
    if (first.kind !== "power-loss-all" && combinable.length > 0 && rng.chance(0.25)) {
      const second = makeFault(pickKind(rng, combinable), nodes, rng);
      const taken = new Set(targets(first, nodes));
      if (!targets(second, nodes).some((x) => taken.has(x))) faults.push(second);
    }
    const longest = Math.max(...faults.map(faultMs));
    if (t + longest > durationMs - COOLDOWN_MS) break;
    steps.push({ at: t, faults });
    t += longest + rng.int(500, 3000);
  }
  return steps;
}
