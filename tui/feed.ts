// The TUI's reads, through the client library (src/client/cluster.ts), with the token and CA this
// process was given (catena tui --token-file/--ca-file) and the TUI's own short timeouts.

import type { HttpCredentials } from "../src/security/http.ts";
import { fetchCluster as fetchClusterWith, fetchNodeStatus as fetchNodeStatusWith, readEventStream as readEventStreamWith, statusTimeoutMs, type ClusterDocument, type ClusterEvent, type NodeStatus } from "../src/client/cluster.ts";

export { reasonOf } from "../src/client/cluster.ts";

/** The TUI polls the master every second: an answer later than that is shown as a failure. */
export const clusterTimeoutMs = 1000;

let credentials: HttpCredentials | undefined;
export function setFeedCredentials(cred: HttpCredentials | undefined): void {
  credentials = cred;
}

export function fetchCluster(master: string, signal?: AbortSignal, timeoutMs = clusterTimeoutMs): Promise<ClusterDocument> {
  return fetchClusterWith(master, timeoutMs, credentials, signal);
}

export function fetchNodeStatus(adminAddr: string, signal?: AbortSignal, timeoutMs = statusTimeoutMs): Promise<NodeStatus> {
  return fetchNodeStatusWith(adminAddr, { signal, timeoutMs, credentials });
}

export function readEventStream(master: string, onEvent: (event: ClusterEvent) => void, signal: AbortSignal, onOpen: () => void = () => {}): Promise<"unsupported" | "ended"> {
  return readEventStreamWith(master, onEvent, signal, onOpen, credentials);
}
