// The data hook: polls the master's /v1/cluster, each node's /v1/status, and follows the master's
// /v1/events stream when it has one. Everything it learns becomes a reducer action.
//
// Polling is what keeps the screen right: it works with any master. The stream makes events
// arrive at once and wakes the poller, so a failure shows without waiting for the next poll; a
// master without /v1/events (404) is probed again now and then, and its /v1/cluster events
// array fills the log meanwhile.

import { useEffect, type Dispatch } from "react";
import type { ClusterEvent, NodeInfo } from "../../src/client/cluster-document.ts";
import { fetchCluster, fetchNodeStatus, readEventStream, reasonOf } from "../feed.ts";
import type { Action } from "../state.ts";

export interface FeedTiming {
  /** Between polls of /v1/cluster while the master answers. */
  pollMs: number;
  /** Between polls while it does not. */
  retryMs: number;
  /** Between rounds of node /v1/status requests. */
  statusMs: number;
  /** Before reconnecting a dropped event stream. */
  streamRetryMs: number;
  /** Before asking again a master that had no /v1/events. */
  streamProbeMs: number;
}

export const defaultTiming: FeedTiming = { pollMs: 200, retryMs: 1000, statusMs: 1000, streamRetryMs: 2000, streamProbeMs: 10_000 };

/** An abortable sleep that `wake()` can cut short (or skip, if it comes while nobody sleeps). */
class Alarm {
  private ring: (() => void) | null = null;
  private early = false;

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (this.early || signal.aborted) {
      this.early = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.ring = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done);
      this.ring = done;
    });
  }

  wake(): void {
    if (this.ring) this.ring();
    else this.early = true;
  }
}

/** Starts the feed's three loops; they run until `signal` aborts. */
export function runFeed(master: string, dispatch: (a: Action) => void, signal: AbortSignal, timing: FeedTiming = defaultTiming, clock: () => number = Date.now): void {
  const shared = { nodes: [] as NodeInfo[], poll: new Alarm() };
  const send = (a: Action) => {
    if (!signal.aborted) dispatch(a);
  };

  void (async () => {
    while (!signal.aborted) {
      let ok = false;
      try {
        const snapshot = await fetchCluster(master, signal);
        shared.nodes = snapshot.nodes;
        send({ type: "cluster", at: clock(), snapshot });
        ok = true;
      } catch (e) {
        send({ type: "unreachable", at: clock(), reason: reasonOf(e) });
      }
      await shared.poll.sleep(ok ? timing.pollMs : timing.retryMs, signal);
    }
  })();

  void (async () => {
    const idle = new Alarm();
    while (!signal.aborted) {
      const nodes = shared.nodes.filter((n) => n.adminAddr);
      await Promise.all(
        nodes.map(async (n) => {
          try {
            const status = await fetchNodeStatus(n.adminAddr, signal);
            send({ type: "status", at: clock(), nodeId: n.id, status, reason: null });
          } catch (e) {
            send({ type: "status", at: clock(), nodeId: n.id, status: null, reason: reasonOf(e) });
          }
        }),
      );
      await idle.sleep(nodes.length ? timing.statusMs : timing.pollMs, signal);
    }
  })();

  void (async () => {
    const idle = new Alarm();
    while (!signal.aborted) {
      let pause = timing.streamRetryMs;
      try {
        const onEvent = (event: ClusterEvent) => {
          send({ type: "event", event });
          shared.poll.wake();
        };
        const result = await readEventStream(master, onEvent, signal, () => send({ type: "stream", stream: "live" }));
        if (result === "unsupported") {
          send({ type: "stream", stream: "unsupported" });
          pause = timing.streamProbeMs;
        } else {
          send({ type: "stream", stream: "down" });
        }
      } catch {
        send({ type: "stream", stream: "down" });
      }
      await idle.sleep(pause, signal);
    }
  })();
}

export function useClusterFeed(master: string, dispatch: Dispatch<Action>, timing: FeedTiming = defaultTiming): void {
  useEffect(() => {
    const stop = new AbortController();
    runFeed(master, dispatch, stop.signal, timing);
    return () => stop.abort();
  }, [master, dispatch, timing]);
}
