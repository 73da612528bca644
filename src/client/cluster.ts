// The master's cluster document (GET /v1/cluster), as clients read it.

import { CatenaError, ErrorCode } from "../protocol/errors.ts";

export interface ClusterDocument {
  chains: {
    chainId: number;
    epoch: number;
    members: string[];
    syncing: string | null;
    head: string | null;
    tail: string | null;
    waitingFor: string | null;
    status: string;
    [key: string]: unknown;
  }[];
  nodes: {
    id: string;
    clientAddr: string;
    replicationAddr: string;
    adminAddr: string;
    role: string;
    state: string;
    logEnd: number | null;
    commitEnd: number | null;
    heartbeatAgeMs: number | null;
    lastHeartbeat: string | null;
    [key: string]: unknown;
  }[];
  events: { time: string; kind: string; message: string; chainId?: number; nodeId?: string; epoch?: number }[];
  [key: string]: unknown;
}

export async function fetchCluster(master: string, timeoutMs = 3000): Promise<ClusterDocument> {
  let res: Response;
  try {
    res = await fetch(`${master.replace(/\/$/, "")}/v1/cluster`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new CatenaError(ErrorCode.unavailable, `cannot reach the master at ${master}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new CatenaError(ErrorCode.unavailable, `the master at ${master} answered HTTP ${res.status}`);
  return (await res.json()) as ClusterDocument;
}
