// The cluster under test: the compiled binary as a master and N nodes, every link between them
// through a ProxyLink. Each listener has a fixed port for the whole run (restarts keep it, like a
// real deployment), picked below the kernel's ephemeral range so that outgoing connections never
// take it while a node is down. Nodes advertise their proxies' addresses to the master
// (`advertise_addr`), so peers and clients dial through the proxies; each node reaches the master
// through a link of its own, and the clients through one more.

import { mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { fetchCluster, type ClusterDocument } from "../../src/client/client.ts";
import { ProxyLink } from "./proxy.ts";

export type SyncPolicy = "always" | "interval" | "none";

export interface ClusterOptions {
  dir: string;
  binary: string;
  nodes: number;
  replicationFactor: number;
  sync: SyncPolicy;
  syncIntervalMs: number;
  /** Told about processes that exit without being asked to. */
  onCrash(name: string, code: number | null, signal: string | null): void;
}

interface Proc {
  name: string;
  args: string[];
  env: Record<string, string>;
  proc: Subprocess | null;
  /** Set before we kill it, so that its exit is not reported as a crash. */
  expectExit: boolean;
  paused: boolean;
}

const usedPorts = new Set<number>();
const running = new Set<ChaosCluster>();

/** Stops every cluster this process started (for a harness interrupted by a signal). */
export async function stopAllClusters(): Promise<void> {
  await Promise.all([...running].map((c) => c.stop()));
}

/** A free port in [20000, 32000), below Linux's ephemeral range (32768-60999). */
export function pickPort(): number {
  for (let i = 0; i < 1000; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (usedPorts.has(port)) continue;
    try {
      Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
    } catch {
      continue;
    }
    usedPorts.add(port);
    return port;
  }
  throw new Error("no free port in 20000-32000");
}

export class ChaosCluster {
  readonly links = new Map<string, ProxyLink>();
  readonly procs = new Map<string, Proc>();
  readonly nodeNames: string[];
  /** The master, dialled directly: the harness's own view, never faulted. */
  readonly masterUrl: string;
  /** The master as the clients under test reach it: through the "clients->master" link. */
  readonly clientMasterUrl: string;

  private constructor(readonly opts: ClusterOptions) {
    mkdirSync(opts.dir, { recursive: true });
    this.nodeNames = Array.from({ length: opts.nodes }, (_, i) => `node${i + 1}`);
    const masterPort = pickPort();
    this.masterUrl = `http://127.0.0.1:${masterPort}`;
    const master = { host: "127.0.0.1", port: masterPort };
    this.clientMasterUrl = `http://${this.link("clients->master", master).address}`;
    const masterToml = join(opts.dir, "master.toml");
    writeFileSync(masterToml, `[master]\nserver_addr = "127.0.0.1:${masterPort}"\nstate_dir = "${join(opts.dir, "master")}"\nreplication_factor = ${opts.replicationFactor}\n`);
    this.procs.set("master", { name: "master", args: ["master", "--config", masterToml], env: {}, proc: null, expectExit: false, paused: false });
    for (const name of this.nodeNames) {
      const [clientPort, replicationPort, adminPort] = [pickPort(), pickPort(), pickPort()];
      const client = this.link(`${name}.client`, { host: "127.0.0.1", port: clientPort });
      const repl = this.link(`${name}.repl`, { host: "127.0.0.1", port: replicationPort });
      const toMaster = this.link(`${name}->master`, master);
      const file = join(opts.dir, `${name}.toml`);
      writeFileSync(file, nodeToml(name, opts, { clientPort, replicationPort, adminPort, client: client.address, repl: repl.address, master: toMaster.address }));
      this.procs.set(name, { name, args: ["node", "--config", file], env: { CATENA_TEST_SYNCED_FILE: this.syncedFile(name) }, proc: null, expectExit: false, paused: false });
    }
  }

  /** Starts the master, then the nodes one by one (join order is chain order), and waits for the chain. */
  static async start(opts: ClusterOptions): Promise<ChaosCluster> {
    const cluster = new ChaosCluster(opts);
    running.add(cluster);
    try {
      cluster.start("master");
      await cluster.waitFor(async () => (await fetch(`${cluster.masterUrl}/health`)).ok, 10_000, "the master did not start");
      for (const name of cluster.nodeNames) {
        cluster.start(name);
        await cluster.waitFor(async () => (await fetchCluster(cluster.masterUrl)).nodes.some((n) => n.id === name), 15_000, `${name} did not join`);
      }
      await cluster.waitFor(async () => cluster.healthy(await fetchCluster(cluster.masterUrl)), 30_000, "the chain did not form");
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  nodeDir(name: string): string {
    return join(this.opts.dir, name);
  }

  syncedFile(name: string): string {
    return join(this.opts.dir, `${name}.synced.json`);
  }

  isRunning(name: string): boolean {
    const p = this.get(name).proc;
    return p !== null && p.exitCode === null && p.signalCode === null;
  }

  isPaused(name: string): boolean {
    return this.get(name).paused;
  }

  start(name: string): void {
    const p = this.get(name);
    // A restart the nemesis scheduled before the run ended must not outlive the run.
    if (this.stopped) return;
    if (this.isRunning(name)) throw new Error(`${name} is already running`);
    const log = openSync(join(this.opts.dir, `${name}.log`), "a");
    p.expectExit = false;
    p.paused = false;
    const proc = Bun.spawn([this.opts.binary, ...p.args], { cwd: this.opts.dir, env: { ...process.env, ...p.env }, stdin: "ignore", stdout: log, stderr: log });
    p.proc = proc;
    void proc.exited.then(() => {
      if (!p.expectExit && p.proc === proc) this.opts.onCrash(name, proc.exitCode, proc.signalCode === null ? null : String(proc.signalCode));
    });
  }

  /** Sends `signal` and waits for the process to exit (a paused process is continued for SIGTERM). */
  async kill(name: string, signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<void> {
    const p = this.get(name);
    if (!p.proc || !this.isRunning(name)) return;
    p.expectExit = true;
    p.proc.kill(signal);
    if (p.paused && signal !== "SIGKILL") p.proc.kill("SIGCONT");
    p.paused = false;
    const exited = await Promise.race([p.proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
    if (!exited) {
      p.proc.kill("SIGKILL");
      await p.proc.exited;
    }
  }

  pause(name: string): void {
    const p = this.get(name);
    if (!p.proc || !this.isRunning(name) || p.paused) return;
    p.proc.kill("SIGSTOP");
    p.paused = true;
  }

  resume(name: string): void {
    const p = this.get(name);
    if (!p.proc || !p.paused) return;
    p.proc.kill("SIGCONT");
    p.paused = false;
  }

  /** Every link back to pass, every paused process continued, every stopped process started. */
  healAll(): void {
    for (const link of this.links.values()) link.setMode({ kind: "pass" });
    for (const name of this.procs.keys()) {
      this.resume(name);
      if (!this.isRunning(name)) this.start(name);
    }
  }

  /** Full membership, no syncing node, every member serving. */
  healthy(doc: ClusterDocument): boolean {
    const chain = doc.chains[0];
    if (!chain || chain.syncing !== null || chain.members.length !== this.opts.replicationFactor) return false;
    return chain.members.every((m) => doc.nodes.find((n) => n.id === m)?.state === "serving");
  }

  /** Healthy, and every member's log committed up to the same end (once appends have stopped). */
  converged(doc: ClusterDocument): boolean {
    const members = doc.chains[0]?.members.map((m) => doc.nodes.find((n) => n.id === m)) ?? [];
    const end = members[0]?.logEnd;
    return this.healthy(doc) && members.every((n) => n !== undefined && n.logEnd === end && n.commitEnd === end);
  }

  private stopped = false;

  async stop(): Promise<void> {
    this.stopped = true;
    running.delete(this);
    for (const name of [...this.procs.keys()].reverse()) await this.kill(name, "SIGTERM");
    for (const link of this.links.values()) link.stop();
  }

  async waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (await check().catch(() => false)) return;
      await Bun.sleep(100);
    }
    throw new Error(`${what} within ${timeoutMs / 1000} s`);
  }

  private link(name: string, target: { host: string; port: number }): ProxyLink {
    const link = new ProxyLink(name, target);
    this.links.set(name, link);
    return link;
  }

  private get(name: string): Proc {
    const p = this.procs.get(name);
    if (!p) throw new Error(`no process named ${name}`);
    return p;
  }
}

function nodeToml(name: string, opts: ClusterOptions, a: { clientPort: number; replicationPort: number; adminPort: number; client: string; repl: string; master: string }): string {
  // Small segments and limits, so that a few minutes of load rolls segments and crosses batches.
  return `[node]
id = "${name}"
[log]
dir = "${join(opts.dir, name)}"
sync = "${opts.sync}"
sync_interval_ms = ${opts.syncIntervalMs}
segment_bytes = 1048576
[frontend]
server_addr = "127.0.0.1:${a.clientPort}"
advertise_addr = "${a.client}"
[replication]
server_addr = "127.0.0.1:${a.replicationPort}"
advertise_addr = "${a.repl}"
[admin]
server_addr = "127.0.0.1:${a.adminPort}"
[management]
management_server_addr = "${a.master}"
[limits]
append_bytes_max = 65536
batch_bytes_max = 262144
`;
}
