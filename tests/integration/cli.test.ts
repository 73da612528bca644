// The CLI as a user runs it: the compiled binary against a running cluster.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, runCli, startTestCluster } from "../helpers/cluster.ts";
import { collectText, waitUntil } from "../helpers/wait.ts";

let cluster: Awaited<ReturnType<typeof startTestCluster>>;
let env: Record<string, string>;

beforeAll(async () => {
  cluster = await startTestCluster();
  env = { CATENA_MASTER: cluster.masterUrl };
});

afterAll(async () => {
  await cluster?.cleanup();
});

test("append --json prints exactly one {offset,payload} line per entry", async () => {
  const r = await runCli(["append", "--json", "alpha", "beta \"quoted\""], { env });
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('{"offset":0,"payload":"alpha"}\n{"offset":1,"payload":"beta \\"quoted\\""}\n');
});

test("append with no payload appends each stdin line", async () => {
  const r = await runCli(["append"], { env, stdin: "one\ntwo\nthree\n" });
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("2\tone\n3\ttwo\n4\tthree\n");
});

test("read --from --limit --json pages through committed entries", async () => {
  const lines = Array.from({ length: 2500 }, (_, i) => `line-${i}`).join("\n") + "\n";
  expect((await runCli(["append"], { env, stdin: lines })).code).toBe(0);
  const all = await runCli(["read", "--from", "0", "--json"], { env });
  expect(all.code).toBe(0);
  const parsed = all.stdout.trim().split("\n").map((l) => JSON.parse(l));
  expect(parsed.length).toBe(2505);
  expect(parsed[0]).toEqual({ offset: 0, payload: "alpha" });
  expect(parsed[2504]).toEqual({ offset: 2504, payload: "line-2499" });
  const some = await runCli(["read", "--from", "3", "--limit", "2"], { env });
  expect(some.stdout).toBe("3\ttwo\n4\tthree\n");
});

test("read past the commit end names the valid range", async () => {
  const r = await runCli(["read", "--from", "999999"], { env });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("outside the readable range [0, 2505]");
  expect(r.stderr).not.toContain("    at ");
});

test("tail follows new entries from the commit end at its start, each once and in order", async () => {
  const from = JSON.parse((await runCli(["latest", "--json"], { env })).stdout).commitEnd as number;
  const proc = Bun.spawn([BINARY, "tail", "--json"], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const out = collectText(proc.stdout);
  const err = collectText(proc.stderr);
  const lastSeen = () => `stdout ${JSON.stringify(out.text())}, stderr ${JSON.stringify(err.text())}`;
  try {
    // tail says nothing until it is subscribed, so append probes until the first one is printed:
    // from then on it is following, and an entry appended after that must reach it.
    let probes = 0;
    await waitUntil(
      async () => {
        if (out.text().includes('"payload":"probe-')) return true;
        expect((await runCli(["append", `probe-${probes++}`], { env })).code).toBe(0);
        return false;
      },
      { timeoutMs: 15_000, pollMs: 200, what: "tail printed none of the entries appended after it started", lastSeen },
    );
    expect((await runCli(["append", "followed"], { env })).code).toBe(0);
    await waitUntil(() => out.text().includes('"payload":"followed"'), { timeoutMs: 10_000, what: "tail did not print an entry appended while it was following", lastSeen });
  } finally {
    proc.kill("SIGINT");
  }
  expect(await proc.exited).toBe(0);
  await out.ended;
  const printed = out.text().trim().split("\n").map((l) => JSON.parse(l) as { offset: number; payload: string });
  // tail starts at the commit end it reads when it starts, so it skips the probes appended before
  // that; from there on, every entry once and in order: probes, then "followed".
  const first = printed[0].offset;
  expect(first).toBeGreaterThanOrEqual(from);
  expect(printed.map((e) => e.offset)).toEqual(printed.map((_, i) => first + i));
  expect(printed.at(-1)!.payload).toBe("followed");
  expect(printed.slice(0, -1).every((e) => e.payload.startsWith("probe-"))).toBe(true);
});

test("status --json is the master's /v1/cluster document; plain status names every node", async () => {
  const json = await runCli(["status", "--json"], { env });
  const doc = JSON.parse(json.stdout);
  expect(doc.chains[0].members).toEqual(["head", "middle", "tail"]);
  expect(doc.nodes.map((n: { role: string }) => n.role).sort()).toEqual(["head", "middle", "tail"]);
  const plain = await runCli(["status"], { env });
  expect(plain.stdout).toContain("head -> middle -> tail");
});

test("cli: an interactive session", async () => {
  const r = await runCli(["cli"], { env, stdin: "append from-cli\nlatest\nread 0 1\nhelp\nquit\n" });
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/appended at offset \d+/);
  expect(r.stdout).toContain("0\talpha");
  expect(r.stdout).toContain("append TEXT");
});

test("help describes every subcommand", async () => {
  const r = await runCli(["--help"]);
  expect(r.code).toBe(0);
  for (const c of ["master", "node", "append", "read", "tail", "status", "cli", "demo", "bench"]) {
    expect(r.stdout).toContain(`  ${c}`);
    const sub = await runCli([c, "--help"]);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain(`catena ${c}`);
  }
});

test("a bad config or a bad flag: one line naming the problem, exit code 2", async () => {
  const dir = mkdtempSync(join(tmpdir(), "catena-badconf-"));
  try {
    const file = join(dir, "node.toml");
    writeFileSync(file, '[node]\nid = "x"\ncolour = "blue"\n');
    const r = await runCli(["node", "--config", file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n").length).toBe(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain("node.colour");
    const flag = await runCli(["read", "--frm", "1"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown option --frm");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the client library takes the master as host:port, as the CLI does, and says RangeError for arguments out of range", async () => {
  const { CatenaClient } = await import("../../src/client/client.ts");
  const client = await CatenaClient.connect({ master: cluster.masterUrl.replace(/^http:\/\//, "") });
  try {
    expect((await client.latest()).commitEnd).toBeGreaterThan(0);
    await expect(client.read(-1)).rejects.toThrow(RangeError);
    await expect(client.read(0, { maxEntries: 0 })).rejects.toThrow("read: maxEntries must be an integer of at least 1");
    await expect(client.read(2 ** 60)).rejects.toThrow(RangeError);
    expect(() => client.subscribe(1.5, () => {})).toThrow(RangeError);
  } finally {
    client.close();
  }
});
