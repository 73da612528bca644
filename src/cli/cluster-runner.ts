// Starts a master and N nodes as child processes of this one, on free loopback ports (picked once,
// so that a restarted node comes back at the same addresses, as a configured one would), with their
// data and logs in one directory. Used by `catena demo` (and `catena bench --local`).

import { mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { fetchCluster } from "../client/client.ts";
import { fetchOptions } from "../security/http.ts";
import { selfCommand } from "./common.ts";

export interface ClusterProcess {
  name: string;
  args: string[];
  proc: Subprocess;
}

export interface LocalCluster {
  dir: string;
  masterUrl: string;
  processes: ClusterProcess[];
  /** Sends `signal` to one process and waits for it to exit. */
  signal(name: string, signal: NodeJS.Signals): Promise<void>;
  /** Starts a stopped process again with the same arguments. */
  restart(name: string): void;
  /** Starts one more node (it joins as a standby, or syncs into a chain short of members). */
  addNode(name: string): void;
  stop(): Promise<void>;
}

export interface LocalClusterOptions {
  dir: string;
  nodes?: number;
  sync?: "always" | "interval" | "none";
  /** Nodes per chain; by default the number of nodes started. */
  replicationFactor?: number;
  /** The program to run for each role; this same program by default. */
  command?: string[];
  /**
   * A directory made by scripts/dev-certs.sh (ca.crt, master.crt/.key, NAME.crt/.key per node,
   * client/node/admin.token): TLS everywhere and tokens on every port and API.
   */
  secureDir?: string;
  /** Extra keys for the master's [master] table, e.g. { failure_timeout_ms: 3000 }. */
  masterSettings?: Record<string, number>;
  /** Extra keys for every node's [limits] table, e.g. { connections_max: 20 }. */
  nodeLimits?: Record<string, number>;
  /** Extra keys for every node's [log] table, e.g. { segment_bytes: 2097152 }. */
  nodeLog?: Record<string, number>;
}

export function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

const NODE_NAMES = ["head", "middle", "tail"];

export async function startLocalCluster(opts: LocalClusterOptions): Promise<LocalCluster> {
  const count = opts.nodes ?? 3;
  mkdirSync(opts.dir, { recursive: true });
  const masterPort = freePort();
  const secure = opts.secureDir;
  const masterUrl = `${secure ? "https" : "http"}://127.0.0.1:${masterPort}`;
  const masterSecurity = secure
    ? `[tls]\ncert_file = "${join(secure, "master.crt")}"\nkey_file = "${join(secure, "master.key")}"\n[auth]\n${tokenKeys(secure)}`
    : "";
  writeFileSync(join(opts.dir, "master.toml"), `[master]\nserver_addr = "127.0.0.1:${masterPort}"\nstate_dir = "${join(opts.dir, "master")}"\nreplication_factor = ${opts.replicationFactor ?? count}\n${Object.entries(opts.masterSettings ?? {}).map(([k, v]) => `${k} = ${v}\n`).join("")}${masterSecurity}`);
  const cred = secure ? { ca: readFileSync(join(secure, "ca.crt"), "utf8"), token: readFileSync(join(secure, "admin.token"), "utf8").trim() } : undefined;
  const processes: ClusterProcess[] = [];
  const launch = (name: string, args: string[]) => {
    const logFile = openSync(join(opts.dir, `${name}.log`), "a");
    return Bun.spawn([...(opts.command ?? selfCommand()), ...args], { stdin: "ignore", stdout: logFile, stderr: logFile, cwd: opts.dir });
  };
  const spawn = (name: string, args: string[]) => processes.push({ name, args, proc: launch(name, args) });
  const find = (name: string) => {
    const p = processes.find((x) => x.name === name);
    if (!p) throw new Error(`no process named ${name} in this cluster`);
    return p;
  };
  const cluster: LocalCluster = {
    dir: opts.dir,
    masterUrl,
    processes,
    async signal(name, signal) {
      const p = find(name);
      p.proc.kill(signal);
      await p.proc.exited;
    },
    restart(name) {
      const p = find(name);
      if (p.proc.exitCode === null && p.proc.signalCode === null) throw new Error(`${name} is still running`);
      p.proc = launch(name, p.args);
    },
    addNode(name) {
      const file = join(opts.dir, `${name}.toml`);
      const limits = opts.nodeLimits ? `[limits]\n${Object.entries(opts.nodeLimits).map(([k, v]) => `${k} = ${v}\n`).join("")}` : "";
      writeFileSync(file, nodeConfig(name, join(opts.dir, name), masterPort, opts.sync ?? "always", secure, opts.nodeLog ?? {}) + limits);
      spawn(name, ["node", "--config", file]);
    },
    stop: () => stopAll(processes),
  };
  try {
    spawn("master", ["master", "--config", join(opts.dir, "master.toml")]);
    await waitFor(async () => (await fetch(`${masterUrl}/health`, fetchOptions(cred))).ok, 10_000, "the master did not start");
    for (let i = 0; i < count; i++) {
      const name = NODE_NAMES[i] ?? `node${i + 1}`;
      cluster.addNode(name);
      // One at a time, so that the chain's order is the start order.
      await waitFor(async () => (await fetchCluster(masterUrl, 3000, cred)).chains[0].members.includes(name), 15_000, `node ${name} did not join`);
    }
    await waitFor(async () => (await fetchCluster(masterUrl, 3000, cred)).nodes.every((n) => n.commitEnd !== null), 10_000, "the chain did not form");
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}

function tokenKeys(dir: string): string {
  return ["client", "node", "admin"].map((t) => `${t}_token_file = "${join(dir, `${t}.token`)}"\n`).join("");
}

function nodeConfig(id: string, dir: string, masterPort: number, sync: string, secure: string | undefined, log: Record<string, number>): string {
  const security = secure
    ? `[tls]\ncert_file = "${join(secure, `${id}.crt`)}"\nkey_file = "${join(secure, `${id}.key`)}"\nca_file = "${join(secure, "ca.crt")}"\n[auth]\n${tokenKeys(secure)}`
    : "";
  return `${security}[node]
id = "${id}"
[log]
dir = "${dir}"
sync = "${sync}"
${Object.entries(log).map(([k, v]) => `${k} = ${v}\n`).join("")}[frontend]
server_addr = "127.0.0.1:${freePort()}"
[replication]
server_addr = "127.0.0.1:${freePort()}"
[admin]
server_addr = "127.0.0.1:${freePort()}"
[management]
management_server_addr = "127.0.0.1:${masterPort}"
`;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    await Bun.sleep(50);
  }
  throw new Error(`${what} within ${timeoutMs / 1000} s`);
}

/** SIGTERM to every child, then SIGKILL to any still running after 5 s. Nodes stop before the master. */
async function stopAll(processes: ClusterProcess[]): Promise<void> {
  for (const { proc } of [...processes].reverse()) {
    if (proc.exitCode !== null || proc.signalCode !== null) continue;
    proc.kill("SIGTERM");
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
    if (!exited) proc.kill("SIGKILL");
  }
}
