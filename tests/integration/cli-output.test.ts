// What the CLI prints, against the compiled binary and a real cluster: every line reaches a slow
// reader; a reader that leaves ends the command quietly; append prints each acknowledgement as it
// arrives, and after a refused line says exactly what was written; payloads are bytes.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { CatenaClient } from "../../src/client/client.ts";
import { BINARY, startTestCluster } from "../helpers/cluster.ts";

const ENTRIES = 20_000;
/** Small, so that an oversized line is cheap to make. */
const APPEND_BYTES_MAX = 1000;

let cluster: Awaited<ReturnType<typeof startTestCluster>>;
let client: CatenaClient;
let env: Record<string, string>;

beforeAll(async () => {
  cluster = await startTestCluster({ nodeLimits: { append_bytes_max: APPEND_BYTES_MAX } });
  env = { ...process.env, CATENA_MASTER: cluster.masterUrl } as Record<string, string>;
  client = await CatenaClient.connect({ master: cluster.masterUrl });
  for (let i = 0; i < ENTRIES; i += 50) await client.appendMany(Array.from({ length: 50 }, (_, j) => `entry-${i + j}`));
});

afterAll(async () => {
  client?.close();
  await cluster?.cleanup();
});

/** Runs a bash script with the binary as $0; returns its exit code and output. */
async function bash(script: string) {
  const proc = Bun.spawn(["bash", "-c", script, BINARY], { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** Runs the binary with stdin bytes; returns its exit code, stdout as bytes and stderr. */
async function runBytes(args: string[], stdin: Uint8Array) {
  const proc = Bun.spawn([BINARY, ...args], { env, stdin, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).arrayBuffer(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout: Buffer.from(stdout), stderr };
}

/** `count` payloads from offset `from`, as text. */
async function payloadsFrom(from: number, count: number): Promise<string[]> {
  const out: string[] = [];
  while (out.length < count) {
    const { entries } = await client.read(from + out.length, { maxEntries: Math.min(1000, count - out.length) });
    out.push(...entries.map((e) => new TextDecoder().decode(e.payload)));
  }
  return out;
}

const commitEnd = async () => (await client.latest()).commitEnd;
const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));

test("read prints every entry to a reader that waits before reading", async () => {
  const r = await bash(`"$0" read --from 0 --limit ${ENTRIES} | (sleep 1; wc -l)`);
  expect(r.stderr).toBe("");
  expect(r.stdout.trim()).toBe(String(ENTRIES));
});

test("tail prints every entry, in order, to a reader that waits before reading", async () => {
  const r = await bash(`timeout -s INT 5 "$0" tail --from 0 | (sleep 1; cat)`);
  expect(r.stderr).toBe("");
  const offsets = r.stdout.trim().split("\n").map((line) => Number(line.split("\t")[0]));
  expect(offsets).toEqual(Array.from({ length: ENTRIES }, (_, i) => i));
});

test("append prints every acknowledgement to a reader that waits before reading", async () => {
  const before = await commitEnd();
  const r = await bash(`seq 1 ${ENTRIES} | "$0" append | (sleep 1; wc -l)`);
  expect(r.stderr).toBe("");
  expect(r.stdout.trim()).toBe(String(ENTRIES));
  expect(await commitEnd()).toBe(before + ENTRIES);
  expect(await payloadsFrom(before, ENTRIES)).toEqual(Array.from({ length: ENTRIES }, (_, i) => String(i + 1)));
});

test("read stops quietly when its reader leaves", async () => {
  const r = await bash(`"$0" read --from 0 | head -1; echo "exit \${PIPESTATUS[0]}"`);
  expect(r.stdout).toBe("0\tentry-0\nexit 0\n");
  expect(r.stderr).toBe("");
});

test("tail stops quietly when its reader leaves while it has entries to print", async () => {
  const r = await bash(`timeout 30 "$0" tail --from 0 | head -1; echo "exit \${PIPESTATUS[0]}"`);
  expect(r.stdout).toBe("0\tentry-0\nexit 0\n");
  expect(r.stderr).toBe("");
});

test("tail stops at its next entry once its reader has left", async () => {
  const proc = Bun.spawn(["bash", "-c", `timeout 30 "$0" tail | head -1; echo "exit \${PIPESTATUS[0]}"`, BINARY], { env, stdout: "pipe", stderr: "pipe" });
  await Bun.sleep(1000);
  const first = await client.append("tail-first");
  await Bun.sleep(300);
  await client.append("tail-second");
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect(stdout).toBe(`${first}\ttail-first\nexit 0\n`);
  expect(stderr).toBe("");
});

test("append stops quietly, and stops appending, when its reader leaves", async () => {
  const before = await commitEnd();
  const r = await bash(`seq 1 ${ENTRIES} | "$0" append | head -1; echo "exit \${PIPESTATUS[1]}"`);
  expect(r.stdout).toBe(`${before}\t1\nexit 0\n`);
  expect(r.stderr).toBe("");
  expect(await commitEnd()).toBeLessThan(before + ENTRIES);
});

test("append prints each acknowledgement while stdin is still open", async () => {
  const proc = Bun.spawn([BINARY, "append"], { env, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  let printed = "";
  const reading = (async () => {
    for await (const chunk of proc.stdout) printed += new TextDecoder().decode(chunk);
  })();
  for (let i = 1; i <= 10; i++) {
    proc.stdin.write(`slow-${i}\n`);
    await proc.stdin.flush();
    await Bun.sleep(100);
  }
  const deadline = Date.now() + 10_000;
  while (printed.split("\n").length <= 10 && Date.now() < deadline) await Bun.sleep(50);
  const beforeEof = printed;
  await proc.stdin.end();
  expect(await proc.exited).toBe(0);
  await reading;
  expect(beforeEof.trim().split("\n").map((l) => l.split("\t")[1])).toEqual(Array.from({ length: 10 }, (_, i) => `slow-${i + 1}`));
});

test("append stops at a refused line, prints what was written and which line failed; the rest can be sent again", async () => {
  const before = await commitEnd();
  const good = Array.from({ length: 300 }, (_, i) => `ok-${i + 1}`);
  const after = Array.from({ length: 100 }, (_, i) => `after-${i + 1}`);
  const oversized = "x".repeat(APPEND_BYTES_MAX + 1);
  const r = await runBytes(["append"], bytes([...good, oversized, ...after].join("\n") + "\n"));
  expect(r.code).toBe(1);
  expect(r.stdout.toString()).toBe(good.map((line, i) => `${before + i}\t${line}\n`).join(""));
  expect(r.stderr.trim().split("\n").length).toBe(1);
  expect(r.stderr).toContain("line 301 was refused");
  expect(r.stderr).toContain(`The ${good.length} lines before it were acknowledged`);
  expect(r.stderr).toContain("no line after it was sent");
  expect(r.stderr).not.toContain("    at ");
  expect(await commitEnd()).toBe(before + good.length);

  // The fixed line and everything after it, once more: each is written once.
  const retry = await runBytes(["append"], bytes(["x", ...after].join("\n") + "\n"));
  expect(retry.code).toBe(0);
  expect(await payloadsFrom(before, good.length + 1 + after.length)).toEqual([...good, "x", ...after]);
  expect(await commitEnd()).toBe(before + good.length + 1 + after.length);
});

test("append --help says what a refusal prints and what to send again", async () => {
  const r = await bash(`"$0" append --help`);
  expect(r.stdout).toContain("refused");
  expect(r.stdout).toContain("from that line on");
});

test("payloads are bytes: invalid UTF-8 and a carriage return are stored, printed and read back exactly", async () => {
  const first = await commitEnd();
  const lines = [[0xff, 0xfe], bytes("crlf\r"), bytes([0xef, 0xbb, 0xbf], "bom")].map((l) => Buffer.from(l as number[]));
  const input = Buffer.concat(lines.flatMap((l) => [l, Buffer.from("\n")]));
  const appended = await runBytes(["append"], input);
  expect(appended.code).toBe(0);
  const plain = (offset: number) => Buffer.concat(lines.flatMap((l, i) => [Buffer.from(`${offset + i}\t`), l, Buffer.from("\n")]));
  expect(appended.stdout).toEqual(plain(first));

  const { entries } = await client.read(first, { maxEntries: 3 });
  expect(entries.map((e) => Buffer.from(e.payload))).toEqual(lines);

  const json = await runBytes(["read", "--from", String(first), "--limit", "3", "--json"], new Uint8Array());
  expect(json.code).toBe(0);
  expect(json.stdout.toString().trim().split("\n").map((l) => JSON.parse(l))).toEqual([
    { offset: first, payloadBase64: "//4=" },
    { offset: first + 1, payload: "crlf\r" },
    { offset: first + 2, payload: "\ufeffbom" },
  ]);
  const raw = await runBytes(["read", "--from", String(first), "--limit", "3"], new Uint8Array());
  expect(raw.stdout).toEqual(plain(first));
});
