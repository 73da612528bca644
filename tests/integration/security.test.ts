// A cluster configured as docs/security.md says (TLS everywhere, mutual TLS between nodes, tokens
// on every port and API), built from the compiled binary and certificates made by
// scripts/dev-certs.sh, refuses every unauthenticated client and peer — 100 tries of each kind —
// and serves valid clients. "None reaches a handler" is checked by what would follow if one did:
// every refused try also carries an APPEND or a REPLICATE, and no log moves.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CatenaClient, fetchCluster, type ClusterDocument } from "../../src/client/client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { PROTOCOL_VERSION } from "../../src/protocol/frame.ts";
import { FrameType, PeerKind, decodeError, encodeAppend, encodeHello } from "../../src/protocol/messages.ts";
import { runCli, startTestCluster } from "../helpers/cluster.ts";
import { frames, rawExchange, repeat, replicateFrame, type RawTls } from "../helpers/raw.ts";
import { waitUntil } from "../helpers/wait.ts";

const TRIES = Number(process.env.CATENA_SECURITY_TRIES ?? 100);
const PARALLEL = 10;
const SCRIPT = resolve(import.meta.dir, "../../scripts/dev-certs.sh");

let dir: string;
let certs: string;
let otherCa: string;
let cluster: Awaited<ReturnType<typeof startTestCluster>>;
let client: CatenaClient;
const read = (name: string) => readFileSync(join(certs, name), "utf8");
let ca: string;
let tokens: { client: string; node: string; admin: string };

function addr(doc: ClusterDocument, id: string, which: "clientAddr" | "replicationAddr" | "adminAddr") {
  const [host, port] = doc.nodes.find((n) => n.id === id)![which].split(":");
  return { host, port: Number(port) };
}

async function cluster_(): Promise<ClusterDocument> {
  return fetchCluster(cluster.masterUrl, 3000, { ca, token: tokens.admin });
}

async function logEnds(): Promise<number[]> {
  const doc = await cluster_();
  return doc.nodes.map((n) => n.logEnd ?? -1);
}

/** Log ends once every node reports the same one, at least `atLeast` (by default the commit end
 * the tail answers now, so a heartbeat from before the last append is not taken for the end). */
async function settledEnds(atLeast?: number): Promise<number[]> {
  atLeast ??= (await client.latest()).commitEnd;
  let ends: number[] = [];
  return waitUntil(async () => {
    ends = await logEnds();
    return new Set(ends).size === 1 && ends[0] >= atLeast && ends;
  }, { timeoutMs: 10_000, what: `the nodes did not report one log end of at least ${atLeast}`, lastSeen: () => JSON.stringify(ends) });
}

/** The entries a node has appended to its log, ever (a counter: truncation does not lower it). */
async function appendedEntries(doc: ClusterDocument, id: string): Promise<number> {
  const admin = addr(doc, id, "adminAddr");
  const text = await fetch(`https://${admin.host}:${admin.port}/metrics`, { tls: { ca }, headers: { authorization: `Bearer ${tokens.admin}` } }).then((r) => r.text());
  const m = /^catena_appended_entries_total\{[^}]*\} (\d+)$/m.exec(text);
  if (!m) throw new Error(`node ${id}'s /metrics has no catena_appended_entries_total`);
  return Number(m[1]);
}

/**
 * Nothing was written since the nodes' log ends were `before`: not judged after a pause, but by
 * what follows. A valid append lands exactly at the old log end and reaches every node, which it
 * could not if any refused try had put an entry into any node's log.
 */
async function expectNothingWritten(before: number[]): Promise<void> {
  const offset = await client.append("marker after the refused tries");
  expect(offset).toBe(before[0]);
  expect(await settledEnds(offset + 1)).toEqual(before.map(() => offset + 1));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "catena-security-"));
  certs = join(dir, "certs");
  otherCa = join(dir, "other-ca");
  for (const [out, names] of [[certs, ["master", "head", "middle", "tail", "stranger"]], [otherCa, ["head", "middle"]]] as const) {
    const made = Bun.spawnSync(["bash", SCRIPT, out, ...names], { stderr: "pipe" });
    if (made.exitCode !== 0) throw new Error(`dev-certs.sh failed: ${made.stderr}`);
  }
  ca = read("ca.crt");
  tokens = { client: read("client.token").trim(), node: read("node.token").trim(), admin: read("admin.token").trim() };
  cluster = await startTestCluster({ secureDir: certs, nodeLimits: { connections_max: 50, handshake_timeout_ms: 1000 } });
  client = await CatenaClient.connect({ master: cluster.masterUrl, token: tokens.client, ca });
  for (let i = 0; i < 20; i++) await client.append(`before-${i}`);
}, 60_000);

afterAll(async () => {
  client?.close();
  await cluster?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("valid clients", () => {
  test("a client with the token and the CA appends, reads and subscribes", async () => {
    const offsets = await Promise.all(Array.from({ length: 100 }, (_, i) => client.append(`valid-${i}`)));
    expect(new Set(offsets).size).toBe(100);
    const got = await client.read(Math.min(...offsets), { maxEntries: 1 });
    expect(new TextDecoder().decode(got.entries[0].payload)).toMatch(/^valid-/);
    expect(new Set(await settledEnds()).size).toBe(1);
  });

  test("100 clients with the client token connect and append; the admin token works as well", async () => {
    const results = await repeat(TRIES, PARALLEL, async (i) => {
      const c = await CatenaClient.connect({ master: cluster.masterUrl, token: i % 10 === 0 ? tokens.admin : tokens.client, ca, requestTimeoutMs: 10_000 });
      try {
        return await c.append(`client-${i}`);
      } finally {
        c.close();
      }
    });
    expect(results.every((o) => typeof o === "number")).toBe(true);
  }, 120_000);

  test("bench --local --secure runs a TLS cluster with tokens and appends without errors", async () => {
    const r = await runCli(["bench", "--local", "--secure", certs, "-c", "1", "-r", "4", "--duration", "1", "--warmup", "0", "--json"]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
    expect(result.appends).toBeGreaterThan(0);
    expect(result.errors).toBe(0);
  }, 60_000);

  test("the CLI takes --token-file and --ca-file", async () => {
    const flags = ["--master", cluster.masterUrl, "--token-file", join(certs, "client.token"), "--ca-file", join(certs, "ca.crt")];
    const appended = await runCli(["append", ...flags, "from-the-cli"]);
    expect(appended.stderr).toBe("");
    expect(appended.code).toBe(0);
    const status = await runCli(["status", ...flags, "--json"]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).chains[0].members).toEqual(["head", "middle", "tail"]);
    const refused = await runCli(["status", "--master", cluster.masterUrl, "--ca-file", join(certs, "ca.crt")]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("token");
    expect(refused.stderr).not.toContain("    at ");
  });
});

describe("the client port refuses", () => {
  const helloWith = (token: string) => encodeHello(1, { version: PROTOCOL_VERSION, kind: PeerKind.client, chainId: 0, epoch: 0, commitEnd: 0, nodeId: "", token });
  const append = () => encodeAppend(2, { chainId: 1, clientId: 4242, firstRequestId: 1, payloads: [new TextEncoder().encode("must never be written")] });

  for (const [name, token, tls] of [
    ["no token", "", true],
    ["a wrong token", "x".repeat(64), true],
    ["the node token (not a client token)", "NODE", true],
    ["plain TCP with the right token", "CLIENT", false],
  ] as const) {
    test(`${name}: ${TRIES} tries, none is served, nothing is written`, async () => {
      const doc = await cluster_();
      const head = addr(doc, "head", "clientAddr");
      const before = await settledEnds();
      const t = token === "NODE" ? tokens.node : token === "CLIENT" ? tokens.client : token;
      const results = await repeat(TRIES, PARALLEL, () => rawExchange(head, [helloWith(t), append()], { tls: tls ? { ca, serverName: "head" } : undefined }));
      for (const r of results) {
        expect(r.closed).toBe(true);
        const got = frames(r.received);
        // Over TLS the only answer is ERROR unauthorized; plain bytes get no frame at all.
        if (tls) {
          expect(got.map((f) => f.type)).toEqual([FrameType.error]);
          expect(decodeError(got[0].frame).code).toBe(ErrorCode.unauthorized);
        } else expect(got.length).toBe(0);
      }
      await expectNothingWritten(before);
    }, 120_000);
  }
});

describe("the replication port refuses", () => {
  // Each try plays the middle's predecessor ("head"), with the right node token and epoch, and
  // sends a batch at the middle's log end: accepted, it would be written.
  async function attack(tls: RawTls | undefined) {
    const doc = await cluster_();
    const chain = doc.chains[0];
    const middle = addr(doc, "middle", "replicationAddr");
    const before = await settledEnds();
    const end = doc.nodes.find((n) => n.id === "middle")!.logEnd!;
    const hello = encodeHello(0, { version: PROTOCOL_VERSION, kind: PeerKind.replication, chainId: chain.chainId, epoch: chain.epoch, commitEnd: 0, nodeId: "head", token: tokens.node });
    const batch = replicateFrame(chain.chainId, chain.epoch, end, [new TextEncoder().encode("forged")]);
    const appendedBefore = await appendedEntries(doc, "middle");
    const results = await repeat(TRIES, PARALLEL, () => rawExchange(middle, [hello, batch], { tls }));
    for (const r of results) {
      if (process.env.DEBUG_RAW) console.log(r, frames(r.received).map((f) => [f.type, f.type === FrameType.error ? decodeError(f.frame).message : ""]));
      expect(r.closed).toBe(true);
      for (const f of frames(r.received)) {
        expect(f.type).toBe(FrameType.error);
        expect(decodeError(f.frame).code).toBe(ErrorCode.unauthorized);
      }
    }
    await expectNothingWritten(before);
    // A forged entry the head's next batch then truncated away would still have been counted.
    expect(await appendedEntries(doc, "middle")).toBe(appendedBefore + 1);
  }

  test(`no certificate: ${TRIES} tries`, () => attack({ ca, serverName: "middle" }), 120_000);
  test(`a certificate from another CA (naming "head"): ${TRIES} tries`, () => attack({ ca, serverName: "middle", cert: readFileSync(join(otherCa, "head.crt"), "utf8"), key: readFileSync(join(otherCa, "head.key"), "utf8") }), 120_000);
  test(`a valid certificate of another node ("tail" claiming to be "head"): ${TRIES} tries`, () => attack({ ca, serverName: "middle", cert: read("tail.crt"), key: read("tail.key") }), 120_000);
  test(`a valid certificate naming no member ("stranger"): ${TRIES} tries`, () => attack({ ca, serverName: "middle", cert: read("stranger.crt"), key: read("stranger.key") }), 120_000);
  test(`plain TCP: ${TRIES} tries`, () => attack(undefined), 120_000);

  test("after all of it the chain still replicates", async () => {
    const offset = await client.append("after-the-attacks");
    expect(await settledEnds(offset + 1)).toEqual([offset + 1, offset + 1, offset + 1]);
  });
});

describe("limits hold over TLS", () => {
  test("a flood of 200 connections that never finish the TLS handshake: at most connections_max held, all cut off by the handshake timeout, valid clients served", async () => {
    const doc = await cluster_();
    const head = addr(doc, "head", "clientAddr");
    const sockets = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const state = { closed: false };
        const socket = await Bun.connect({ hostname: head.host, port: head.port, socket: { data() {}, close: () => void (state.closed = true), error: () => void (state.closed = true) } }).catch(() => null);
        if (!socket) state.closed = true;
        return { socket, state };
      }),
    );
    const metrics = () => fetch(`https://${addr(doc, "head", "adminAddr").host}:${addr(doc, "head", "adminAddr").port}/metrics`, { tls: { ca }, headers: { authorization: `Bearer ${tokens.admin}` } }).then((r) => r.text());
    // Every connection past connections_max is refused at once: wait for the node to count them.
    const refused = async () => Number(/catena_connections_refused_total\{node="head",listener="client",reason="full"\} (\d+)/.exec(await metrics())?.[1] ?? 0);
    let seen = 0;
    await waitUntil(async () => (seen = await refused()) >= 150, { timeoutMs: 10_000, what: "the head did not refuse 150 of the 200 connections", lastSeen: () => `${seen} refused` });
    expect(seen).toBeLessThanOrEqual(200);
    await waitUntil(() => sockets.filter((s) => !s.state.closed).length <= 50, { timeoutMs: 10_000, what: "more than connections_max connections stayed open" });
    // A client connected before the flood is served during it.
    expect(typeof (await client.append("during the flood"))).toBe("number");
    // The handshake timeout frees every slot, and new clients get in again.
    await waitUntil(() => sockets.every((s) => s.state.closed), { timeoutMs: 10_000, what: "the handshake timeout did not close every connection of the flood", lastSeen: () => `${sockets.filter((s) => !s.state.closed).length} open` });
    for (const s of sockets) s.socket?.terminate();
    const c = await CatenaClient.connect({ master: cluster.masterUrl, token: tokens.client, ca });
    expect(typeof (await c.append("after the flood"))).toBe("number");
    c.close();
  }, 60_000);
});

describe("the HTTP APIs refuse", () => {
  const get = (url: string, token?: string) =>
    fetch(url, { tls: { ca }, headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(5000) }).then(async (r) => {
      await r.body?.cancel();
      return r.status;
    });

  test(`no token, a wrong token, the wrong kind of token: ${TRIES} tries each, all 401`, async () => {
    const doc = await cluster_();
    const admin = addr(doc, "middle", "adminAddr");
    const node = `https://${admin.host}:${admin.port}`;
    const cases: [string, string | undefined][] = [
      [`${cluster.masterUrl}/v1/cluster`, undefined],
      [`${cluster.masterUrl}/v1/cluster`, "y".repeat(64)],
      [`${cluster.masterUrl}/metrics`, undefined],
      [`${cluster.masterUrl}/v1/events`, tokens.node],
      [`${node}/v1/status`, undefined],
      [`${node}/metrics`, tokens.node],
    ];
    for (const [url, token] of cases) {
      const statuses = await repeat(TRIES, PARALLEL, () => get(url, token));
      expect(new Set(statuses)).toEqual(new Set([401]));
    }
    const join = await fetch(`${cluster.masterUrl}/v1/nodes/join`, {
      method: "POST",
      tls: { ca },
      headers: { authorization: `Bearer ${tokens.client}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "head", clientAddr: "127.0.0.1:1", replicationAddr: "127.0.0.1:2", adminAddr: "127.0.0.1:3", chains: [] }),
    });
    expect(join.status).toBe(401);
    // The right tokens open them; the health checks need none.
    expect(await get(`${cluster.masterUrl}/v1/cluster`, tokens.client)).toBe(200);
    expect(await get(`${node}/v1/status`, tokens.client)).toBe(200);
    expect(await get(`${node}/metrics`, tokens.admin)).toBe(200);
    expect(await get(`${cluster.masterUrl}/health`)).toBe(200);
    expect(await get(`${node}/health`)).toBe(200);
  }, 120_000);

  test(`changing state takes the admin token: the client and node tokens get 401, ${TRIES} tries each`, async () => {
    const doc = await cluster_();
    const admin = addr(doc, "tail", "adminAddr");
    const put = (url: string, token: string | undefined, level: string) =>
      fetch(`${url}/v1/log-level`, {
        method: "PUT",
        tls: { ca },
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ level }),
        signal: AbortSignal.timeout(5000),
      }).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      });
    for (const url of [cluster.masterUrl, `https://${admin.host}:${admin.port}`]) {
      for (const token of [undefined, tokens.client, tokens.node]) {
        const statuses = await repeat(TRIES, PARALLEL, () => put(url, token, "debug"));
        expect(new Set(statuses)).toEqual(new Set([401]));
      }
      expect(await put(url, tokens.admin, "warn")).toBe(200);
      const shown = await fetch(`${url}/v1/log-level`, { tls: { ca }, headers: { authorization: `Bearer ${tokens.client}` } });
      expect(await shown.json()).toEqual({ level: "warn" });
      expect(await put(url, tokens.admin, "info")).toBe(200);
    }
  }, 120_000);

  test("plain HTTP to an HTTPS API gets nothing", async () => {
    const plain = cluster.masterUrl.replace("https://", "http://");
    const r = await fetch(`${plain}/v1/cluster`, { headers: { authorization: `Bearer ${tokens.admin}` }, signal: AbortSignal.timeout(3000) }).then(
      (res) => res.status,
      () => "failed",
    );
    expect(r === "failed" || r === 400).toBe(true);
  });

  test("a client that does not trust the cluster CA refuses the master", async () => {
    const other = readFileSync(join(otherCa, "ca.crt"), "utf8");
    await expect(fetchCluster(cluster.masterUrl, 3000, { ca: other, token: tokens.client })).rejects.toThrow(/cannot reach the master/);
  });
});
