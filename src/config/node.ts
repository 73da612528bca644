// A storage node's config file: config/head.toml and its siblings.

import { type Address, formatAddress, parseAddress } from "./address.ts";
import { deepFreeze, parseToml, readConfigText, resolvePath } from "./file.ts";
import { GiB, KiB, type Limits, MiB, readLimits, SEGMENT_HEADER_ROOM_BYTES } from "./limits.ts";
import { DocumentReader, type KnownKeys, type SectionReader } from "./schema.ts";
import { AUTH_KEYS, TLS_KEYS, readAuth, readTls, type AuthTokens, type TlsMaterial } from "./security.ts";
import { readSized } from "./sized.ts";

import { SYNC_POLICIES, type SyncPolicy } from "../chain/sync-policy.ts";

export { SYNC_POLICIES, type SyncPolicy };

export const NODE_ID_PATTERN = /^[a-z0-9_-]{1,64}$/;

export interface NodeConfig {
  /** The path the config was loaded from, as given. */
  readonly file: string;
  readonly nodeId: string;
  readonly log: {
    /** Absolute: a relative `log.dir` is resolved against the working directory at load time. */
    readonly dir: string;
    /** `log.dir` as written in the file, for messages. */
    readonly dirText: string;
    readonly sync: SyncPolicy;
    readonly syncIntervalMs: number;
    readonly segmentBytes: number;
    readonly indexIntervalBytes: number;
  };
  readonly listen: {
    readonly client: Address;
    readonly replication: Address;
    readonly admin: Address;
  };
  /**
   * What the node tells the master, and so its peers and clients, to dial: `advertise_addr`, or
   * null to use the listen address. Lets a proxy (or NAT) sit in front of a listener.
   */
  readonly advertise: {
    readonly client: Address | null;
    readonly replication: Address | null;
  };
  /** The master's HTTP API. */
  readonly master: Address;
  readonly heartbeatMs: number;
  readonly limits: Limits;
  /** TLS on every listener and connection of this node (mutual on replication); null: plain TCP. */
  readonly tls: TlsMaterial | null;
  readonly auth: AuthTokens;
}

const NODE_KEYS: KnownKeys = {
  node: ["id"],
  log: ["dir", "sync", "sync_interval_ms", "segment_bytes", "index_interval_bytes"],
  frontend: ["server_addr", "advertise_addr"],
  replication: ["server_addr", "advertise_addr"],
  admin: ["server_addr"],
  management: ["management_server_addr", "heartbeat_ms"],
  limits: [
    "frame_bytes_max",
    "append_bytes_max",
    "record_bytes_max",
    "batch_bytes_max",
    "inflight_batches_max",
    "inflight_bytes_max",
    "read_bytes_max",
    "connection_queue_bytes_max",
    "connections_max",
    "pending_appends_max",
    "handshake_timeout_ms",
    "idle_timeout_ms",
    "frame_timeout_ms",
    "write_timeout_ms",
  ],
  tls: TLS_KEYS,
  auth: AUTH_KEYS,
};

export function loadNodeConfig(file: string): NodeConfig {
  return parseNodeConfig(readConfigText(file), file);
}

export function parseNodeConfig(text: string, file: string): NodeConfig {
  const doc = new DocumentReader(file, parseToml(text, file), NODE_KEYS);
  const nodeId = readNodeId(doc.section("node"));
  const limits = readLimits(doc.section("limits"));
  const listen = readListen(doc);
  const advertise = { client: readAdvertise(doc.section("frontend")), replication: readAdvertise(doc.section("replication")) };
  const management = doc.section("management");
  const master = management.requireAddress("management_server_addr", { allowPortZero: false });
  const heartbeatMs = management.readInteger("heartbeat_ms", { min: 10, max: 10_000 }) ?? 100;
  const log = readLog(doc.section("log"), limits);
  const tls = readTls(doc.section("tls"), { caRequired: true, name: nodeId });
  const auth = readAuth(doc.section("auth"), AUTH_KEYS);
  return deepFreeze({ file, nodeId, log, listen, advertise, master, heartbeatMs, limits, tls, auth });
}

function readNodeId(section: SectionReader): string {
  const id = section.requireString("id");
  if (!NODE_ID_PATTERN.test(id)) {
    section.fail("id", `must be 1 to 64 of a-z, 0-9, "_" and "-", got ${JSON.stringify(id)}`);
  }
  return id;
}

function readLog(section: SectionReader, limits: Limits): NodeConfig["log"] {
  const dirText = section.requireString("dir");
  if (dirText === "") section.fail("dir", "must not be empty");
  return {
    dir: resolvePath(dirText),
    dirText,
    sync: section.readEnum("sync", SYNC_POLICIES) ?? "always",
    syncIntervalMs: section.readInteger("sync_interval_ms", { min: 1, max: 60_000 }) ?? 5,
    segmentBytes: readSized(section, "segment_bytes", {
      range: { min: MiB, max: GiB },
      base: 64 * MiB,
      floors: [
        { text: `limits.batch_bytes_max + ${SEGMENT_HEADER_ROOM_BYTES}`, value: limits.batchBytesMax + SEGMENT_HEADER_ROOM_BYTES },
      ],
    }),
    indexIntervalBytes: section.readInteger("index_interval_bytes", { min: 256, max: MiB }) ?? 4 * KiB,
  };
}

const LISTENERS = [
  ["client", "frontend"],
  ["replication", "replication"],
  ["admin", "admin"],
] as const;

function readListen(doc: DocumentReader): NodeConfig["listen"] {
  const seen = new Map<string, string>();
  const listen: Partial<Record<(typeof LISTENERS)[number][0], Address>> = {};
  for (const [field, table] of LISTENERS) {
    const section = doc.section(table);
    const address = section.requireAddress("server_addr", { allowPortZero: true });
    const text = formatAddress(address);
    const other = seen.get(text);
    if (address.port !== 0 && other !== undefined) section.fail("server_addr", `${text} is already used by ${other}`);
    seen.set(text, section.key("server_addr"));
    listen[field] = address;
  }
  return listen as NodeConfig["listen"];
}

function readAdvertise(section: SectionReader): Address | null {
  const text = section.readString("advertise_addr");
  if (text === undefined) return null;
  const address = parseAddress(text, { allowPortZero: false });
  if (typeof address === "string") section.fail("advertise_addr", address);
  return address;
}
