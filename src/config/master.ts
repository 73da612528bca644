// The master's config file: config/master.toml.

import { existsSync } from "node:fs";
import { type Address, dialableAddress, formatAddress } from "./address.ts";
import { ConfigError } from "./errors.ts";
import { deepFreeze, parseToml, readConfigText, resolvePath } from "./file.ts";
import { DocumentReader, type KnownKeys } from "./schema.ts";
import { AUTH_KEYS, TLS_KEYS, readAuth, readTls, type AuthTokens, type TlsMaterial } from "./security.ts";
import { readSized } from "./sized.ts";

export const DEFAULT_MASTER_CONFIG_PATH = "config/master.toml";

export interface MasterConfig {
  /** The path the config was loaded from, as given. */
  readonly file: string;
  /** The HTTP API. */
  readonly listen: Address;
  /** Absolute: a relative `master.state_dir` is resolved against the working directory at load time. */
  readonly stateDir: string;
  /** `master.state_dir` as written in the file, for messages. */
  readonly stateDirText: string;
  readonly replicationFactor: number;
  readonly heartbeatMs: number;
  readonly failureTimeoutMs: number;
  /** A node that has not reached the master for this long stops acting as head or tail. */
  readonly leaseMs: number;
  /** HTTPS for the API; null: plain HTTP. */
  readonly tls: TlsMaterial | null;
  readonly auth: AuthTokens;
}

const MASTER_KEYS: KnownKeys = {
  master: ["server_addr", "state_dir", "replication_factor", "heartbeat_ms", "failure_timeout_ms", "lease_ms"],
  tls: TLS_KEYS,
  auth: AUTH_KEYS,
};

export function loadMasterConfig(file: string): MasterConfig {
  return parseMasterConfig(readConfigText(file), file);
}

export function parseMasterConfig(text: string, file: string): MasterConfig {
  const doc = new DocumentReader(file, parseToml(text, file), MASTER_KEYS);
  const section = doc.section("master");
  const listen = section.requireAddress("server_addr", { allowPortZero: true });
  const stateDirText = section.requireString("state_dir");
  if (stateDirText === "") section.fail("state_dir", "must not be empty");
  const replicationFactor = section.readInteger("replication_factor", { min: 1, max: 16 }) ?? 3;
  const heartbeatMs = section.readInteger("heartbeat_ms", { min: 10, max: 10_000 }) ?? 100;
  const failureTimeoutMs = readSized(section, "failure_timeout_ms", {
    range: { min: 21, max: 600_000 },
    base: 6 * heartbeatMs,
    baseText: "6 × master.heartbeat_ms",
    floors: [{ text: "2 × master.heartbeat_ms + 1", value: 2 * heartbeatMs + 1 }],
  });
  const leaseMs = section.readInteger("lease_ms", { min: 1, max: 600_000 }) ?? Math.min(failureTimeoutMs - heartbeatMs, Math.max(heartbeatMs + 1, failureTimeoutMs - 2 * heartbeatMs));
  if (leaseMs <= heartbeatMs) section.fail("lease_ms", `must be more than master.heartbeat_ms (${heartbeatMs}), got ${leaseMs}`);
  if (leaseMs > failureTimeoutMs - heartbeatMs) {
    section.fail("lease_ms", `must be at most master.failure_timeout_ms - master.heartbeat_ms (${failureTimeoutMs - heartbeatMs}), got ${leaseMs}: the master must wait a lease out before it replaces a node`);
  }
  return deepFreeze({
    file,
    listen,
    stateDir: resolvePath(stateDirText),
    stateDirText,
    replicationFactor,
    heartbeatMs,
    failureTimeoutMs,
    leaseMs,
    tls: readTls(doc.section("tls"), { caRequired: false }),
    auth: readAuth(doc.section("auth"), AUTH_KEYS),
  });
}

/**
 * The master's URL ("http://host:port") read from a master config file, for the CLI's `--master`
 * default; undefined when the file does not exist. A wildcard listen host becomes loopback.
 */
export function masterUrlFromConfigFile(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const config = loadMasterConfig(file);
  if (config.listen.port === 0) {
    throw new ConfigError(file, "master.server_addr", "port 0 picks a free port, so the master's URL is unknown; pass --master");
  }
  return `${config.tls ? "https" : "http"}://${formatAddress(dialableAddress(config.listen))}`;
}
