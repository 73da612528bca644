// The node's side of membership: join the master, then heartbeat it every heartbeat_ms. Every
// answer carries the chain layouts this node belongs to, which the node applies. If the master
// forgets the node (a restarted master without its state), the node joins again; so does a node
// that stopped heartbeating while its log was out of service (rejoin).

import { formatAddress, type NodeConfig } from "../config/index.ts";
import { fetchOptions } from "../security/http.ts";
import type { Logger } from "../util/logger.ts";
import { LayoutRefused, parseLayout, type ChainLayoutJson } from "./layout.ts";

export interface NodeAddresses {
  clientAddr: string;
  replicationAddr: string;
  adminAddr: string;
}

export type { ChainReport } from "../chain/control.ts";
import type { ChainReport } from "../chain/control.ts";

export interface MasterLinkHost {
  reports(): ChainReport[];
  layouts(chains: ChainLayoutJson[]): Promise<void>;
}

const REQUEST_TIMEOUT_MS = 2000;

export class MasterLink {
  private joined = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  /** Bumped by stop(): a request still in flight from before must not schedule another tick. */
  private generation = 0;
  private failures = 0;
  /** The last refused answer's problem, logged once (see logRefusal). */
  private lastRefusal = "";
  lastContact = 0;
  /** performance.now() when the last answered request was sent: the lease runs from there. */
  private leaseFrom = -Infinity;
  private leaseMs = 0;
  private leaseUntil = -Infinity;
  /** The heartbeat period: the node's heartbeat_ms until the master answers, then the master's, so
   * that a node configured slower than the master's lease does not lose its lease between beats. */
  private periodMs: number;

  /** True while the master answered a request sent less than a lease ago. */
  hasLease(): boolean {
    return performance.now() < this.leaseUntil;
  }

  constructor(
    private readonly config: NodeConfig,
    private readonly addresses: NodeAddresses,
    private readonly host: MasterLinkHost,
    private readonly log: Logger,
  ) {
    this.periodMs = config.heartbeatMs;
  }

  private get base(): string {
    return `${this.config.tls ? "https" : "http"}://${formatAddress(this.config.master)}`;
  }

  start(): void {
    void this.tick(this.generation);
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
  }

  /** After stop(): joins the master again, which puts this node back in a new epoch (or as a standby
   * that copies the log, if the master has removed it meanwhile), as for a restarted node. */
  rejoin(): void {
    this.stop();
    this.stopped = false;
    this.joined = false;
    this.start();
  }

  private async tick(generation: number): Promise<void> {
    if (this.stopped || generation !== this.generation) return;
    try {
      if (!this.joined) await this.join();
      else await this.heartbeat();
      if (this.failures > 0) this.log.info("master reachable again", { master: formatAddress(this.config.master) });
      this.failures = 0;
      this.lastRefusal = "";
      this.lastContact = Date.now();
    } catch (e) {
      if (e instanceof LayoutRefused || e instanceof LayoutNotApplied) this.logRefusal(e);
      else if (this.failures++ % 50 === 0) this.log.warn("cannot reach the master; retrying", { master: formatAddress(this.config.master), error: (e as Error).message });
    }
    if (!this.stopped && generation === this.generation) this.timer = setTimeout(() => void this.tick(generation), this.periodMs);
  }

  private async join(): Promise<void> {
    const { recordBytesMax, batchBytesMax } = this.config.limits;
    const body = { id: this.config.nodeId, ...this.addresses, sync: this.config.log.sync, limits: { recordBytesMax, batchBytesMax }, chains: this.host.reports() };
    const sentAt = performance.now();
    const res = await this.post("/v1/nodes/join", body);
    if (res.status === 409) {
      const { error } = (await res.json()) as { error: string };
      throw new Error(`the master refused the join: ${error}`);
    }
    if (!res.ok) throw new Error(`join answered HTTP ${res.status}${res.status === 401 ? " (the master wants a valid node token: auth.node_token_file)" : ""}`);
    const answer = checkAnswer(await res.json());
    this.joined = true;
    this.log.info("joined the master", { master: formatAddress(this.config.master), chains: answer.chains.map((c) => c.chainId) });
    await this.applied(sentAt, answer);
  }

  private async heartbeat(): Promise<void> {
    const sentAt = performance.now();
    const res = await this.post("/v1/nodes/heartbeat", { id: this.config.nodeId, chains: this.host.reports() });
    if (res.status === 404) {
      this.joined = false;
      this.log.warn("the master does not know this node; joining again");
      return;
    }
    if (!res.ok) throw new Error(`heartbeat answered HTTP ${res.status}${res.status === 401 ? " (the master wants a valid node token: auth.node_token_file)" : ""}`);
    await this.applied(sentAt, checkAnswer(await res.json()));
  }

  /** The lease is renewed only once the layouts are applied: a node that could not take its place
   * (its replica would not open) must not act as head or tail on an older one. */
  private async applied(sentAt: number, answer: MasterAnswer): Promise<void> {
    try {
      await this.host.layouts(answer.chains);
    } catch (e) {
      throw new LayoutNotApplied(`could not apply the master's layout: ${(e as Error).message}`);
    }
    this.periodMs = answer.heartbeatMs;
    this.renewLease(sentAt, answer.leaseMs);
  }

  /** Said once per distinct problem: the master repeats it in every answer until it is fixed. */
  private logRefusal(e: LayoutRefused | LayoutNotApplied): void {
    if (e.message === this.lastRefusal) return;
    this.lastRefusal = e.message;
    const what = e instanceof LayoutRefused ? "refused the master's answer, and with it the lease: its state looks damaged; check the master's log and its state file" : "could not take the place the master gave this node, so it holds no lease; retrying with every heartbeat";
    this.log.error(what, { master: formatAddress(this.config.master), problem: e.message });
  }

  private renewLease(sentAt: number, leaseMs: number): void {
    if (typeof leaseMs === "number" && leaseMs > 0) this.leaseMs = leaseMs;
    if (sentAt > this.leaseFrom) this.leaseFrom = sentAt;
    this.leaseUntil = this.leaseFrom + this.leaseMs;
  }

  private post(path: string, body: unknown): Promise<Response> {
    // Over TLS the master's certificate must chain to the cluster CA and name the host dialled.
    return fetch(this.base + path, {
      method: "POST",
      ...fetchOptions({ token: this.config.auth.node, ca: this.config.tls?.ca }, { "content-type": "application/json" }),
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  }
}

/** The master's answer to a join or heartbeat, every layout checked before any is applied and
 * before the answer renews the lease. */
interface MasterAnswer {
  chains: ChainLayoutJson[];
  leaseMs: number;
  heartbeatMs: number;
}

/** Applying the master's layout failed here (a replica that would not open): no lease for it. */
class LayoutNotApplied extends Error {}

function checkAnswer(body: unknown): MasterAnswer {
  const { chains, leaseMs, heartbeatMs } = (body ?? {}) as { chains?: unknown; leaseMs?: unknown; heartbeatMs?: unknown };
  if (!Array.isArray(chains)) throw new LayoutRefused(`the answer carries no list of chains, got ${JSON.stringify(chains)?.slice(0, 60)}`);
  for (const c of chains) parseLayout(c as ChainLayoutJson);
  if (typeof leaseMs !== "number" || !Number.isSafeInteger(leaseMs) || leaseMs <= 0) throw new LayoutRefused(`leaseMs must be a positive integer, got ${JSON.stringify(leaseMs)}`);
  if (typeof heartbeatMs !== "number" || !Number.isSafeInteger(heartbeatMs) || heartbeatMs <= 0 || heartbeatMs >= leaseMs) {
    throw new LayoutRefused(`heartbeatMs must be a positive integer below leaseMs (${leaseMs}), got ${JSON.stringify(heartbeatMs)}`);
  }
  return { chains: chains as ChainLayoutJson[], leaseMs, heartbeatMs };
}
