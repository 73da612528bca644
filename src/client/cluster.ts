// The master's cluster document (GET /v1/cluster), as clients read it.

import { CatenaError, ErrorCode } from "../protocol/errors.ts";
import { fetchOptions, type HttpCredentials } from "../security/http.ts";

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
  events: { time: string; kind: string; message: string; chainId?: number; nodeId?: string; epoch?: number; count?: number; lastTime?: string }[];
  [key: string]: unknown;
}

export async function fetchCluster(master: string, timeoutMs = 3000, cred?: HttpCredentials): Promise<ClusterDocument> {
  let res: Response;
  try {
    res = await fetch(`${master.replace(/\/$/, "")}/v1/cluster`, { signal: AbortSignal.timeout(timeoutMs), ...fetchOptions(cred) });
  } catch (e) {
    throw new CatenaError(ErrorCode.unavailable, `cannot reach the master at ${master}: ${(e as Error).message}`);
  }
  if (res.status === 401) throw new CatenaError(ErrorCode.unauthorized, `the master at ${master} refused the request: ${((await res.json().catch(() => ({}))) as { error?: string }).error ?? "a token is needed"}`);
  if (!res.ok) throw new CatenaError(ErrorCode.unavailable, `the master at ${master} answered HTTP ${res.status}`);
  return (await res.json()) as ClusterDocument;
}
