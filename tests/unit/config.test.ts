import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  ConfigError,
  DEFAULT_MASTER_CONFIG_PATH,
  formatAddress,
  loadMasterConfig,
  loadNodeConfig,
  masterUrlFromConfigFile,
  MiB,
  parseAddress,
  parseMasterConfig,
  parseNodeConfig,
} from "../../src/config/index.ts";

const REPO = resolve(import.meta.dir, "../..");
const FILE = "config/test.toml";

const MINIMAL_NODE = `
[node]
id = "n1"
[log]
dir = "data/n1"
[frontend]
server_addr = "127.0.0.1:7101"
[replication]
server_addr = "127.0.0.1:7102"
[admin]
server_addr = "127.0.0.1:7103"
[management]
management_server_addr = "127.0.0.1:7100"
`;

const MINIMAL_MASTER = `
[master]
server_addr = "127.0.0.1:7100"
state_dir = "data/master"
`;

/** Runs `fn`, expects a ConfigError, checks its parts and that the message is one line. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.message).not.toContain("\n");
    expect(e.message).toBe(e.key === "" ? `${e.file}: ${e.problem}` : `${e.file}: ${e.key}: ${e.problem}`);
    return e;
  }
  throw new Error("expected a ConfigError");
}

function nodeError(text: string): ConfigError {
  const e = configError(() => parseNodeConfig(text, FILE));
  expect(e.file).toBe(FILE);
  return e;
}

/** The minimal node file with `line` added under `[table]` (the table is appended if absent). */
function withNode(table: string, line: string): string {
  const header = `[${table}]\n`;
  return MINIMAL_NODE.includes(header) ? MINIMAL_NODE.replace(header, `${header}${line}\n`) : `${MINIMAL_NODE}${header}${line}\n`;
}

function without(text: string, line: string): string {
  expect(text).toContain(line);
  return text.replace(`${line}\n`, "");
}

describe("example files", () => {
  const nodes = [
    ["head", 7101],
    ["middle", 7111],
    ["tail", 7121],
  ] as const;

  for (const [id, port] of nodes) {
    test(`config/${id}.toml loads`, () => {
      const config = loadNodeConfig(join(REPO, "config", `${id}.toml`));
      expect(config.nodeId).toBe(id);
      expect(config.listen.client).toEqual({ host: "127.0.0.1", port });
      expect(config.listen.replication).toEqual({ host: "127.0.0.1", port: port + 1 });
      expect(config.listen.admin).toEqual({ host: "127.0.0.1", port: port + 2 });
      expect(config.master).toEqual({ host: "127.0.0.1", port: 7100 });
      expect(config.log.dir).toBe(resolve(process.cwd(), "data", id));
      expect(config.log.dirText).toBe(`data/${id}`);
      expect(config.log.sync).toBe("always");
    });
  }

  test("config/master.toml loads", () => {
    const config = loadMasterConfig(join(REPO, DEFAULT_MASTER_CONFIG_PATH));
    expect(config.listen).toEqual({ host: "127.0.0.1", port: 7100 });
    expect(config.stateDirText).toBe("data/master");
    expect(config.replicationFactor).toBe(3);
    expect(config.failureTimeoutMs).toBe(600);
  });

  test("the example nodes' explicit values equal the defaults", () => {
    const example = loadNodeConfig(join(REPO, "config", "head.toml"));
    const minimal = parseNodeConfig(MINIMAL_NODE, FILE);
    expect(example.limits).toEqual(minimal.limits);
    expect({ ...example.log, dir: "", dirText: "" }).toEqual({ ...minimal.log, dir: "", dirText: "" });
    expect(example.heartbeatMs).toBe(minimal.heartbeatMs);
  });
});

describe("node config", () => {
  test("defaults are applied and consistent", () => {
    const config = parseNodeConfig(MINIMAL_NODE, FILE);
    expect(config.file).toBe(FILE);
    expect(config.log).toMatchObject({ sync: "always", syncIntervalMs: 5, segmentBytes: 64 * MiB, indexIntervalBytes: 4096 });
    expect(config.heartbeatMs).toBe(100);
    expect(config.limits).toEqual({
      frameBytesMax: 4 * MiB,
      appendBytesMax: MiB,
      recordBytesMax: MiB + 32,
      batchBytesMax: MiB + 32,
      inflightBatchesMax: 256,
      inflightBytesMax: 32 * MiB,
      readBytesMax: MiB + 32,
      connectionQueueBytesMax: 16 * MiB,
      connectionsMax: 1024,
      pendingAppendsMax: 65536,
      handshakeTimeoutMs: 5000,
      idleTimeoutMs: 300_000,
      frameTimeoutMs: 10_000,
      writeTimeoutMs: 30_000,
    });
    expect(config.tls).toBeNull();
    expect(config.auth).toEqual({ client: null, node: null, admin: null });
  });

  test("derived defaults follow a raised limit", () => {
    const config = parseNodeConfig(withNode("limits", "append_bytes_max = 8388608"), FILE);
    expect(config.limits.recordBytesMax).toBe(8 * MiB + 32);
    expect(config.limits.batchBytesMax).toBe(8 * MiB + 32);
    expect(config.limits.readBytesMax).toBe(8 * MiB + 32);
    expect(config.limits.frameBytesMax).toBe(8 * MiB + 96);
    expect(config.limits.connectionQueueBytesMax).toBe(16 * MiB);
  });

  test("the result is deeply frozen", () => {
    const config = parseNodeConfig(MINIMAL_NODE, FILE);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.log)).toBe(true);
    expect(Object.isFrozen(config.listen.client)).toBe(true);
    expect(Object.isFrozen(config.limits)).toBe(true);
    expect(() => {
      (config.limits as { frameBytesMax: number }).frameBytesMax = 1;
    }).toThrow();
  });

  test("a relative dir resolves against the working directory; an absolute one is kept", () => {
    const before = process.cwd();
    const dir = mkdtempSync(join(tmpdir(), "catena-config-"));
    try {
      process.chdir(dir);
      expect(parseNodeConfig(MINIMAL_NODE, FILE).log.dir).toBe(join(process.cwd(), "data", "n1"));
    } finally {
      process.chdir(before);
      rmSync(dir, { recursive: true, force: true });
    }
    const absolute = MINIMAL_NODE.replace('dir = "data/n1"', 'dir = "/var/lib/catena"');
    expect(parseNodeConfig(absolute, FILE).log.dir).toBe("/var/lib/catena");
  });

  test("port 0 is allowed for listeners, not for the master", () => {
    const zero = MINIMAL_NODE.replaceAll(/:710[123]"/g, ':0"');
    expect(parseNodeConfig(zero, FILE).listen.admin.port).toBe(0);
    const e = nodeError(MINIMAL_NODE.replace('"127.0.0.1:7100"', '"127.0.0.1:0"'));
    expect(e.key).toBe("management.management_server_addr");
    expect(e.problem).toContain("1..65535");
  });

  const errors: [string, string, string, string][] = [
    // [what, file text, key, text the problem contains]
    ["unknown top-level table", `${MINIMAL_NODE}[frontnd]\nserver_addr = "x:1"\n`, "frontnd", "unknown table"],
    ["unknown top-level key", `id = "x"\n${MINIMAL_NODE}`, "id", "unknown key"],
    ["unknown nested key", withNode("frontend", 'server_adr = "127.0.0.1:1"'), "frontend.server_adr", "unknown key"],
    ["unknown key in limits", withNode("limits", "frame_max = 1"), "limits.frame_max", "known keys in [limits]"],
    ["a table where a key belongs", withNode("log", "sync = { a = 1 }"), "log.sync", "must be a string, got a table"],
    ["a key where a table belongs", `log = 1\n${MINIMAL_NODE.replace(/\[log\]\ndir = "data\/n1"\n/, "")}`, "log", "must be a table"],
    ["wrong type: string for integer", withNode("log", 'segment_bytes = "64MiB"'), "log.segment_bytes", 'must be an integer, got "64MiB"'],
    ["wrong type: float", withNode("management", "heartbeat_ms = 1.5"), "management.heartbeat_ms", "must be an integer, got 1.5"],
    ["wrong type: integer for string", MINIMAL_NODE.replace('id = "n1"', "id = 7"), "node.id", "must be a string, got 7"],
    ["wrong type: date", withNode("log", "sync = 2024-01-01T00:00:00Z"), "log.sync", "got a date-time"],
    ["bad enum", withNode("log", 'sync = "sometimes"'), "log.sync", 'must be one of "always", "interval", "none", got "sometimes"'],
    ["out of range: low", withNode("log", "sync_interval_ms = 0"), "log.sync_interval_ms", "must be 1..60000, got 0"],
    ["out of range: high", withNode("log", "segment_bytes = 2147483648"), "log.segment_bytes", "must be 1048576..1073741824"],
    ["out of range: negative", withNode("limits", "inflight_batches_max = -1"), "limits.inflight_batches_max", "got -1"],
    ["bad node id", MINIMAL_NODE.replace('id = "n1"', 'id = "Head 1"'), "node.id", 'got "Head 1"'],
    ["missing required key", without(MINIMAL_NODE, 'id = "n1"'), "node.id", "required key is missing"],
    ["missing required table", without(without(MINIMAL_NODE, "[admin]"), 'server_addr = "127.0.0.1:7103"'), "admin.server_addr", "required key is missing"],
    ["missing log dir", without(MINIMAL_NODE, 'dir = "data/n1"'), "log.dir", "required key is missing"],
    ["bad address: no port", MINIMAL_NODE.replace('"127.0.0.1:7101"', '"127.0.0.1"'), "frontend.server_addr", 'must be "host:port"'],
    ["bad address: port too big", MINIMAL_NODE.replace('"127.0.0.1:7102"', '"127.0.0.1:70000"'), "replication.server_addr", "0..65535"],
    ["bad address: port not a number", MINIMAL_NODE.replace('"127.0.0.1:7103"', '"127.0.0.1:http"'), "admin.server_addr", "bad port"],
    ["bad address: empty host", MINIMAL_NODE.replace('"127.0.0.1:7101"', '":7101"'), "frontend.server_addr", "bad host"],
    ["same address twice", MINIMAL_NODE.replace('"127.0.0.1:7103"', '"127.0.0.1:7101"'), "admin.server_addr", "already used by frontend.server_addr"],
    [
      "batch below record",
      withNode("limits", "batch_bytes_max = 524288"),
      "limits.batch_bytes_max",
      "must be at least limits.record_bytes_max (1048608), got 524288",
    ],
    [
      "frame not above batch + 64",
      withNode("limits", "batch_bytes_max = 4194304\nframe_bytes_max = 4194304"),
      "limits.frame_bytes_max",
      "must be at least limits.batch_bytes_max + 64 (4194368), got 4194304",
    ],
    ["inflight below batch", withNode("limits", "inflight_bytes_max = 1000"), "limits.inflight_bytes_max", "limits.batch_bytes_max"],
    ["queue below frame", withNode("limits", "connection_queue_bytes_max = 65536"), "limits.connection_queue_bytes_max", "limits.frame_bytes_max"],
    ["segment below batch + 64", withNode("limits", "batch_bytes_max = 1048576\nrecord_bytes_max = 1024") .replace("[log]\n", "[log]\nsegment_bytes = 1048576\n"), "log.segment_bytes", "limits.batch_bytes_max + 64"],
    ["record below 64", withNode("limits", "record_bytes_max = 63"), "limits.record_bytes_max", "must be 64..1073741824, got 63"],
    [
      "a derived default out of range",
      withNode("limits", "batch_bytes_max = 1073741824"),
      "log.segment_bytes",
      "(the default, from limits.batch_bytes_max + 64)",
    ],
  ];

  for (const [what, text, key, problem] of errors) {
    test(`error: ${what}`, () => {
      const e = nodeError(text);
      expect(e.key).toBe(key);
      expect(e.problem).toContain(problem);
      expect(e.message).toStartWith(`${FILE}: ${key}: `);
    });
  }

  test("error: TOML syntax", () => {
    const e = nodeError("[node]\nid = =\n");
    expect(e.key).toBe("");
    expect(e.message).toBe(`${FILE}: TOML syntax error: Expected a value but found '='`);
  });

  test("error: missing file", () => {
    const e = configError(() => loadNodeConfig("config/no-such-file.toml"));
    expect(e.message).toBe("config/no-such-file.toml: cannot read file: no such file");
  });
});

describe("master config", () => {
  test("defaults are applied; the result is frozen", () => {
    const config = parseMasterConfig(MINIMAL_MASTER, FILE);
    expect(config).toEqual({
      file: FILE,
      listen: { host: "127.0.0.1", port: 7100 },
      stateDir: resolve(process.cwd(), "data/master"),
      stateDirText: "data/master",
      replicationFactor: 3,
      heartbeatMs: 100,
      failureTimeoutMs: 600,
      leaseMs: 400,
      tls: null,
      auth: { client: null, node: null, admin: null },
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.listen)).toBe(true);
  });

  test("failure_timeout_ms defaults to 6 heartbeats", () => {
    expect(parseMasterConfig(`${MINIMAL_MASTER}heartbeat_ms = 500\n`, FILE).failureTimeoutMs).toBe(3000);
  });

  const errors: [string, string, string, string][] = [
    ["unknown key", `${MINIMAL_MASTER}server_address = "x:1"\n`, "master.server_address", "unknown key"],
    ["unknown table", `${MINIMAL_MASTER}[frontend]\nserver_addr = "x:1"\n`, "frontend", "unknown table (known tables: master, tls, auth)"],
    ["missing state_dir", without(MINIMAL_MASTER, 'state_dir = "data/master"'), "master.state_dir", "required key is missing"],
    ["out of range", `${MINIMAL_MASTER}replication_factor = 17\n`, "master.replication_factor", "must be 1..16, got 17"],
    [
      "failure timeout not above two heartbeats",
      `${MINIMAL_MASTER}heartbeat_ms = 300\nfailure_timeout_ms = 600\n`,
      "master.failure_timeout_ms",
      "must be at least 2 × master.heartbeat_ms + 1 (601), got 600",
    ],
    ["bad address", MINIMAL_MASTER.replace("127.0.0.1:7100", "[::1:7100"), "master.server_addr", "IPv6"],
  ];

  for (const [what, text, key, problem] of errors) {
    test(`error: ${what}`, () => {
      const e = configError(() => parseMasterConfig(text, FILE));
      expect(e.key).toBe(key);
      expect(e.problem).toContain(problem);
    });
  }
});

describe("addresses", () => {
  test("parse and format round-trip", () => {
    for (const text of ["127.0.0.1:7100", "localhost:1", "[::1]:65535", "node-3.example.com:8080"]) {
      const parsed = parseAddress(text);
      expect(typeof parsed).toBe("object");
      expect(formatAddress(parsed as { host: string; port: number })).toBe(text);
    }
    expect(parseAddress("[::1]:7100")).toEqual({ host: "::1", port: 7100 });
  });

  test("bad addresses give a problem string", () => {
    for (const text of ["", "7100", "host:", "host:-1", "host:65536", "::1:7100", "a b:1", "host:0"]) {
      expect(typeof parseAddress(text)).toBe("string");
    }
    expect(parseAddress("host:0", { allowPortZero: true })).toEqual({ host: "host", port: 0 });
  });
});

describe("masterUrlFromConfigFile", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function file(text: string): string {
    const dir = mkdtempSync(join(tmpdir(), "catena-config-"));
    dirs.push(dir);
    const path = join(dir, "master.toml");
    writeFileSync(path, text);
    return path;
  }

  test("reads the master's address", () => {
    expect(masterUrlFromConfigFile(join(REPO, DEFAULT_MASTER_CONFIG_PATH))).toBe("http://127.0.0.1:7100");
    expect(masterUrlFromConfigFile(file(MINIMAL_MASTER.replace("127.0.0.1", "0.0.0.0")))).toBe("http://127.0.0.1:7100");
    expect(masterUrlFromConfigFile(file(MINIMAL_MASTER.replace("127.0.0.1", "[::]")))).toBe("http://[::1]:7100");
  });

  test("undefined when the file does not exist; ConfigError when it is bad", () => {
    expect(masterUrlFromConfigFile(join(tmpdir(), "catena-no-such-dir", "master.toml"))).toBeUndefined();
    const e = configError(() => masterUrlFromConfigFile(file("[master]\n")));
    expect(e.key).toBe("master.server_addr");
  });
});

describe("[tls] and [auth]", () => {
  // Certificates from scripts/dev-certs.sh: a CA with certificates for "n1" and "other", and a
  // second CA, made once for these tests.
  const root = mkdtempSync(join(tmpdir(), "catena-config-tls-"));
  const certs = join(root, "a");
  const foreign = join(root, "b");
  const script = resolve(import.meta.dir, "../../scripts/dev-certs.sh");
  for (const [out, names] of [[certs, ["n1", "other"]], [foreign, ["n1"]]] as const) {
    const made = Bun.spawnSync(["bash", script, out, ...names], { stderr: "pipe" });
    if (made.exitCode !== 0) throw new Error(`dev-certs.sh failed: ${made.stderr}`);
  }
  const tls = (cert: string, key: string, ca = join(certs, "ca.crt")) => `${MINIMAL_NODE}[tls]\ncert_file = "${cert}"\nkey_file = "${key}"\nca_file = "${ca}"\n`;
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test("a valid certificate naming the node id loads; tokens are read and trimmed", () => {
    writeFileSync(join(root, "t"), "0123456789abcdef0123\n");
    const config = parseNodeConfig(`${tls(join(certs, "n1.crt"), join(certs, "n1.key"))}[auth]\nclient_token_file = "${join(root, "t")}"\n`, FILE);
    expect(config.tls?.cert).toContain("BEGIN CERTIFICATE");
    expect(config.auth).toEqual({ client: "0123456789abcdef0123", node: null, admin: null });
  });

  test.each([
    ["a certificate of another node", () => tls(join(certs, "other.crt"), join(certs, "other.key")), "tls.cert_file", 'does not name this node'],
    ["a key that is not the certificate's", () => tls(join(certs, "n1.crt"), join(certs, "other.key")), "tls.key_file", "does not belong to the certificate"],
    ["a certificate from another CA", () => tls(join(foreign, "n1.crt"), join(foreign, "n1.key")), "tls.cert_file", "not signed by the CA"],
    ["a missing file", () => tls(join(certs, "nope.crt"), join(certs, "n1.key")), "tls.cert_file", "no such file"],
    ["a key file that is not PEM", () => tls(join(certs, "n1.crt"), join(certs, "ca.srl")), "tls.key_file", "not a PEM private key"],
    ["cert_file without the others", () => `${MINIMAL_NODE}[tls]\ncert_file = "${join(certs, "n1.crt")}"\n`, "tls.key_file", "required when [tls] sets"],
  ])("error: %s", (_name, text, key, problem) => {
    const e = configError(() => parseNodeConfig(text(), FILE));
    expect(e.message).toContain(`${FILE}: ${key}:`);
    expect(e.message).toContain(problem);
  });

  test("error: a token that is too short", () => {
    writeFileSync(join(root, "short"), "abc\n");
    const e = configError(() => parseNodeConfig(`${MINIMAL_NODE}[auth]\nnode_token_file = "${join(root, "short")}"\n`, FILE));
    expect(e.message).toContain("auth.node_token_file");
    expect(e.message).toContain("16 to 4096 printable characters");
  });
});
