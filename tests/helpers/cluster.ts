// Starts the compiled binary (dist/catena) as a master and three nodes on loopback, in a fresh
// temporary directory, for integration tests. `npm test` builds the binary first.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startLocalCluster, type LocalCluster } from "../../src/cli/cluster-runner.ts";

export const BINARY = resolve(import.meta.dir, "../../dist/catena");

export async function startTestCluster(opts: { sync?: "always" | "interval" | "none"; nodes?: number; replicationFactor?: number; secureDir?: string; nodeLimits?: Record<string, number>; masterSettings?: Record<string, number> } = {}): Promise<LocalCluster & { cleanup(): Promise<void> }> {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run "npm run build" (npm test does it)`);
  const dir = mkdtempSync(join(tmpdir(), "catena-test-"));
  const cluster = await startLocalCluster({ dir, command: [BINARY], ...opts });
  return Object.assign(cluster, {
    async cleanup() {
      await cluster.stop();
      if (process.env.CATENA_KEEP_TEST_DATA) console.error(`kept test data in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  });
}

/** Runs the binary with args; returns exit code and output. */
export async function runCli(args: string[], opts: { env?: Record<string, string>; stdin?: string; cwd?: string } = {}) {
  const proc = Bun.spawn([BINARY, ...args], {
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** Runs the binary with args for at most timeoutMs: a server that should have refused to start is
 * killed (SIGKILL) and reported with timedOut, rather than left running. */
export async function runCliWithin(args: string[], timeoutMs: number) {
  const proc = Bun.spawn([BINARY, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr, timedOut: proc.signalCode === "SIGKILL" };
}
