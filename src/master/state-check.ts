// The master's state file checked against its schema before the master acts on any of it: a
// hand-edited or restored file with a bad epoch, an unknown member or an absurd floor would be
// handed to every node. A problem names the key path ("chains[0].epoch") and the value.

import { parseAddress } from "../config/address.ts";
import { NODE_ID_PATTERN } from "../config/node.ts";
import type { ChainRecord, MasterState, NodeRecord } from "../chain/control.ts";

/** Chains a state file may hold (one today; room for partitions). */
export const STATE_CHAINS_MAX = 65_536;
/** Nodes a state file may name. */
export const STATE_NODES_MAX = 4096;

export class StateProblem extends Error {
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`${key}: ${problem}`);
  }
}

type Json = { [key: string]: unknown };

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function show(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function count(obj: Json, key: string, path: string, min = 0): number {
  const v = obj[key];
  if (!isCount(v) || v < min) throw new StateProblem(`${path}.${key}`, `must be an integer from ${min} to ${Number.MAX_SAFE_INTEGER}, got ${show(v)}`);
  return v;
}

function nodeId(v: unknown, key: string): string {
  if (typeof v !== "string" || !NODE_ID_PATTERN.test(v)) throw new StateProblem(key, `must be a node id (1 to 64 of a-z, 0-9, "_" and "-"), got ${show(v)}`);
  return v;
}

function address(obj: Json, key: string, path: string): string {
  const v = obj[key];
  const parsed = typeof v === "string" ? parseAddress(v, { allowPortZero: false }) : "must be a \"host:port\" string";
  if (typeof parsed === "string") throw new StateProblem(`${path}.${key}`, `${parsed}, got ${show(v)}`);
  return v as string;
}

function checkNode(v: unknown, path: string): NodeRecord {
  if (!isObject(v)) throw new StateProblem(path, `must be an object, got ${show(v)}`);
  return {
    id: nodeId(v.id, `${path}.id`),
    clientAddr: address(v, "clientAddr", path),
    replicationAddr: address(v, "replicationAddr", path),
    adminAddr: address(v, "adminAddr", path),
  };
}

function checkChain(v: unknown, path: string, known: Set<string>, placed: Map<string, string>): ChainRecord {
  if (!isObject(v)) throw new StateProblem(path, `must be an object, got ${show(v)}`);
  const chainId = count(v, "chainId", path, 1);
  const epoch = count(v, "epoch", path);
  if (!Array.isArray(v.members)) throw new StateProblem(`${path}.members`, `must be a list of node ids, got ${show(v.members)}`);
  const member = (id: unknown, key: string): string => {
    const checked = nodeId(id, key);
    if (!known.has(checked)) throw new StateProblem(key, `names node "${checked}", which is not in "nodes"`);
    const other = placed.get(checked);
    if (other !== undefined) throw new StateProblem(key, `node "${checked}" is already placed at ${other}`);
    placed.set(checked, key);
    return checked;
  };
  const members = v.members.map((id, i) => member(id, `${path}.members[${i}]`));
  const syncing = v.syncing === null || v.syncing === undefined ? null : member(v.syncing, `${path}.syncing`);
  const chain: ChainRecord = { chainId, epoch, members, syncing };
  if (v.commitFloor !== undefined) chain.commitFloor = count(v, "commitFloor", path);
  return chain;
}

/** The state file's content, checked; throws StateProblem naming the first bad key. */
export function checkState(parsed: unknown): MasterState {
  if (!isObject(parsed)) throw new StateProblem("(document)", `must be a JSON object, got ${show(parsed)}`);
  if (parsed.version !== 1) throw new StateProblem("version", `must be 1, got ${show(parsed.version)}`);
  const { nodes, chains } = parsed;
  if (!Array.isArray(nodes) || nodes.length > STATE_NODES_MAX) throw new StateProblem("nodes", `must be a list of at most ${STATE_NODES_MAX} nodes, got ${show(nodes)}`);
  if (!Array.isArray(chains) || chains.length < 1 || chains.length > STATE_CHAINS_MAX) {
    throw new StateProblem("chains", `must be a list of 1 to ${STATE_CHAINS_MAX} chains, got ${show(chains)}`);
  }
  const known = new Set<string>();
  const checkedNodes = nodes.map((n, i) => {
    const node = checkNode(n, `nodes[${i}]`);
    if (known.has(node.id)) throw new StateProblem(`nodes[${i}].id`, `node "${node.id}" is listed twice`);
    known.add(node.id);
    return node;
  });
  const placed = new Map<string, string>();
  const ids = new Set<number>();
  const checkedChains = chains.map((c, i) => {
    const chain = checkChain(c, `chains[${i}]`, known, placed);
    if (ids.has(chain.chainId)) throw new StateProblem(`chains[${i}].chainId`, `chain ${chain.chainId} is listed twice`);
    ids.add(chain.chainId);
    return chain;
  });
  return { version: 1, chains: checkedChains, nodes: checkedNodes };
}
