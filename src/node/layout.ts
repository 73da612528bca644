// The chain layout as the master hands it to nodes (JSON over HTTP), parsed into typed form.

import { parseAddress, type Address } from "../config/index.ts";

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

export function parseLayout(json: ChainLayoutJson): ChainLayout {
  return {
    chainId: json.chainId,
    epoch: json.epoch,
    members: json.members.map(member),
    syncing: json.syncing ? member(json.syncing) : null,
  };
}

function member(m: MemberJson): MemberInfo {
  return { id: m.id, clientAddr: address(m.clientAddr), replicationAddr: address(m.replicationAddr) };
}

function address(text: string): Address {
  const a = parseAddress(text);
  if (typeof a === "string") throw new Error(`master sent a bad address "${text}": ${a}`);
  return a;
}
