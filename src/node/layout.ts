// The chain layout as the master hands it to nodes (JSON over HTTP), parsed into typed form.

import { NODE_ID_PATTERN, parseAddress, type Address } from "../config/index.ts";

export interface MemberInfo {
  id: string;
  clientAddr: Address;
  replicationAddr: Address;
}

export interface ChainLayout {
  chainId: number;
  epoch: number;
  /** Serving members in chain order. */
  members: MemberInfo[];
  /** A node copying the log from the tail, after it in the stream; null when none. */
  syncing: MemberInfo | null;
  /** The master no longer lists this node in the chain (its new epoch is not known here). */
  removed?: boolean;
}

/** The JSON shape: addresses as "host:port" strings. */
export interface ChainLayoutJson {
  chainId: number;
  epoch: number;
  members: MemberJson[];
  syncing: MemberJson | null;
}

interface MemberJson {
  id: string;
  clientAddr: string;
  replicationAddr: string;
}

/** The master sent a layout this node will not act on (see parseLayout). */
export class LayoutRefused extends Error {}

function isCount(v: unknown, min: number): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= min;
}

/**
 * Checks the shape before anything is applied: an epoch that is not a safe integer (a damaged
 * master state file) would compare wrongly with every later epoch and wedge the replica.
 */
export function parseLayout(json: ChainLayoutJson): ChainLayout {
  const at = (key: string, problem: string, value: unknown) => new LayoutRefused(`layout of chain ${String(json?.chainId)}: ${key} ${problem}, got ${JSON.stringify(value)?.slice(0, 60)}`);
  if (typeof json !== "object" || json === null) throw new LayoutRefused(`a chain layout must be an object, got ${JSON.stringify(json)?.slice(0, 60)}`);
  if (!isCount(json.chainId, 1)) throw at("chainId", "must be a positive safe integer", json.chainId);
  if (!isCount(json.epoch, 0)) throw at("epoch", "must be a safe integer of 0 or more", json.epoch);
  if (!Array.isArray(json.members)) throw at("members", "must be a list", json.members);
  return {
    chainId: json.chainId,
    epoch: json.epoch,
    members: json.members.map((m, i) => member(m, `members[${i}]`, at)),
    syncing: json.syncing ? member(json.syncing, "syncing", at) : null,
  };
}

function member(m: MemberJson, key: string, at: (key: string, problem: string, value: unknown) => LayoutRefused): MemberInfo {
  if (typeof m !== "object" || m === null || typeof m.id !== "string" || !NODE_ID_PATTERN.test(m.id)) throw at(`${key}.id`, "must be a node id", m?.id);
  return { id: m.id, clientAddr: address(m.clientAddr, `${key}.clientAddr`, at), replicationAddr: address(m.replicationAddr, `${key}.replicationAddr`, at) };
}

function address(text: unknown, key: string, at: (key: string, problem: string, value: unknown) => LayoutRefused): Address {
  const a = typeof text === "string" ? parseAddress(text, { allowPortZero: false }) : "must be a \"host:port\" string";
  if (typeof a === "string") throw at(key, a, text);
  return a;
}
