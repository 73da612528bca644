// What a node may send the master, checked before the master looks at it: with no node token
// configured anyone who reaches the port can send a join or a heartbeat, and what a join names is
// persisted and handed to every node and client. A problem comes back as one line for HTTP 400.

import { parseAddress } from "../config/address.ts";
import { isSyncPolicy, SYNC_POLICIES } from "../chain/sync-policy.ts";
import { NODE_ID_PATTERN } from "../config/node.ts";
import type { ChainReport, JoinRequest, NodeLimits } from "../chain/control.ts";

/** A join or heartbeat body larger than this is refused unread (a report is ~200 bytes a chain). */
export const NODE_REQUEST_BYTES_MAX = 1024 * 1024;
/** Replicas one node may report. */
export const REPORTS_MAX = 4096;

type Json = { [key: string]: unknown };

const COUNTS = ["epoch", "logEnd", "durableEnd", "ackableEnd", "commitEnd", "bytes"] as const;

function isCount(v: unknown, min = 0): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= min;
}

function show(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function checkId(v: unknown): string | null {
  return typeof v === "string" && NODE_ID_PATTERN.test(v) ? null : `id must be 1 to 64 of a-z, 0-9, "_" and "-", got ${show(v)}`;
}

function checkReport(v: unknown, key: string): string | null {
  if (typeof v !== "object" || v === null) return `${key} must be an object`;
  const r = v as Json;
  if (!isCount(r.chainId, 1)) return `${key}.chainId must be a positive integer, got ${show(r.chainId)}`;
  for (const k of COUNTS) if (!isCount(r[k])) return `${key}.${k} must be an integer of 0 or more, got ${show(r[k])}`;
  return null;
}

function checkReports(v: unknown): string | null {
  if (!Array.isArray(v) || v.length > REPORTS_MAX) return `chains must be a list of at most ${REPORTS_MAX} reports`;
  for (let i = 0; i < v.length; i++) {
    const problem = checkReport(v[i], `chains[${i}]`);
    if (problem) return problem;
  }
  return null;
}

function checkLimits(v: unknown): NodeLimits | undefined | string {
  if (v === undefined) return undefined;
  const l = v as Json;
  if (typeof v !== "object" || v === null || !isCount(l.recordBytesMax, 1) || !isCount(l.batchBytesMax, 1)) return `limits must hold positive integers recordBytesMax and batchBytesMax`;
  return { recordBytesMax: l.recordBytesMax as number, batchBytesMax: l.batchBytesMax as number };
}

/** A join body as a JoinRequest, or the problem with it. */
export function parseJoin(body: unknown): JoinRequest | string {
  if (typeof body !== "object" || body === null) return "a join must be a JSON object";
  const b = body as Json;
  const idProblem = checkId(b.id);
  if (idProblem) return idProblem;
  for (const key of ["clientAddr", "replicationAddr", "adminAddr"]) {
    const a = typeof b[key] === "string" ? parseAddress(b[key] as string, { allowPortZero: false }) : `must be a "host:port" string, got ${show(b[key])}`;
    if (typeof a === "string") return `${key} ${a}`;
  }
  const reportsProblem = checkReports(b.chains);
  if (reportsProblem) return reportsProblem;
  if (b.sync !== undefined && !isSyncPolicy(b.sync)) return `sync must be one of ${SYNC_POLICIES.join(", ")}, got ${show(b.sync)}`;
  const limits = checkLimits(b.limits);
  if (typeof limits === "string") return limits;
  return {
    id: b.id as string,
    clientAddr: b.clientAddr as string,
    replicationAddr: b.replicationAddr as string,
    adminAddr: b.adminAddr as string,
    chains: b.chains as ChainReport[],
    ...(b.sync !== undefined ? { sync: b.sync as string } : {}),
    ...(limits ? { limits } : {}),
  };
}

/** A heartbeat body as the node's id and reports, or the problem with it. */
export function parseHeartbeat(body: unknown): { id: string; chains: ChainReport[] } | string {
  if (typeof body !== "object" || body === null) return "a heartbeat must be a JSON object";
  const b = body as Json;
  const problem = checkId(b.id) ?? checkReports(b.chains);
  return problem ?? { id: b.id as string, chains: b.chains as ChainReport[] };
}
