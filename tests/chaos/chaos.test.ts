// The CI-sized chaos run: three short seeded schedules against dist/catena (npm test builds it),
// about three minutes in all. Each fails on any violated property and prints the seed, the
// property, the operations involved and where the history, logs and data were kept.
// Longer runs: npm run chaos -- --duration 300 --seed K (docs/testing.md).

import { expect, test } from "bun:test";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describeReport, runChaos, type ChaosOptions } from "./chaos.ts";

const BINARY = resolve(import.meta.dir, "../../dist/catena");
/** Start-up, healing, the final checks and stopping take up to ~40 s beyond the schedule. */
const SLACK_MS = 90_000;

async function chaos(seed: number, durationS: number, more: Partial<ChaosOptions> = {}): Promise<void> {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run "npm run build" (npm test does it)`);
  const dir = mkdtempSync(join(tmpdir(), `catena-chaos-${seed}-`));
  const report = await runChaos({ seed, durationS, dir, binary: BINARY, cleanPass: true, log: () => {}, ...more });
  console.log(describeReport(report));
  expect(report.violations).toEqual([]);
}

test("chaos, sync = always, every fault (seed 101)", () => chaos(101, 40), 40_000 + SLACK_MS);

test("chaos, sync = always, crashes, power loss and bit flips (seed 202)", () => chaos(202, 35, { kinds: ["kill", "power-loss", "power-loss-all", "bitflip", "pause"] }), 35_000 + SLACK_MS);

test("chaos, sync = interval, network faults and power loss of every node (seed 303)", () => chaos(303, 35, { sync: "interval", kinds: ["partition", "delay", "reset", "power-loss-all", "kill"] }), 35_000 + SLACK_MS);
