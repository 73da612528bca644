// The TUI's data hook against a tiny fake master on 127.0.0.1: polls, node statuses, the event
// stream (and its absence), the master going away; and the whole App drawing what it serves.

import { afterEach, expect, test } from "bun:test";
import { render } from "ink-testing-library";
import { App } from "../../tui/app.tsx";
import { runFeed, type FeedTiming } from "../../tui/hooks/use-cluster-feed.ts";
import type { Action } from "../../tui/state.ts";
import { healthy, status } from "./tui-fixtures.ts";

const fast: FeedTiming = { pollMs: 20, retryMs: 30, statusMs: 50, streamRetryMs: 30, streamProbeMs: 200 };
const failure = { time: "2025-01-01T12:00:05.000Z", kind: "failed", message: "node middle failed: no heartbeat for 600 ms", nodeId: "middle" };

function fakeMaster(opts: { events: boolean }): Bun.Server<undefined> {
  const server: Bun.Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    fetch(req): Response {
      const path = new URL(req.url).pathname;
      const self = `127.0.0.1:${server.port}`;
      if (path === "/v1/cluster") {
        const doc = healthy(1000);
        return Response.json({ ...doc, nodes: doc.nodes.map((n) => ({ ...n, adminAddr: self })) });
      }
      if (path === "/v1/status") return Response.json(status(1000, 100_000));
      if (path === "/v1/events" && opts.events) {
        const body = new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode(`: hello\n\nevent: cluster\ndata: ${JSON.stringify(failure)}\n\n`));
          },
        });
        return new Response(body, { headers: { "content-type": "text/event-stream" } });
      }
      return new Response("not found", { status: 404 });
    },
  });
  return server;
}

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(10);
  }
}

test("the feed polls the cluster and the nodes, follows the event stream, and reports the master gone", async () => {
  const server = fakeMaster({ events: true });
  const actions: Action[] = [];
  const stop = new AbortController();
  stops.push(() => stop.abort());
  runFeed(`http://127.0.0.1:${server.port}`, (a) => actions.push(a), stop.signal, fast);
  const seen = (type: Action["type"]) => actions.filter((a) => a.type === type);
  await until(() => seen("cluster").length >= 2 && seen("status").length >= 3 && seen("event").length >= 1);
  expect(actions).toContainEqual({ type: "stream", stream: "live" });
  expect(seen("event")[0]).toEqual({ type: "event", event: failure });
  expect(seen("status").every((a) => a.type === "status" && a.status?.sync === "always")).toBe(true);
  server.stop(true);
  await until(() => seen("unreachable").length >= 1);
  const down = seen("unreachable")[0];
  expect(down.type === "unreachable" && down.reason).toBe("connection refused");
});

test("a master without /v1/events: the stream is marked unsupported and polling goes on", async () => {
  const server = fakeMaster({ events: false });
  stops.push(() => server.stop(true));
  const actions: Action[] = [];
  const stop = new AbortController();
  stops.push(() => stop.abort());
  runFeed(`http://127.0.0.1:${server.port}`, (a) => actions.push(a), stop.signal, fast);
  await until(() => actions.some((a) => a.type === "stream" && a.stream === "unsupported") && actions.filter((a) => a.type === "cluster").length >= 3);
});

test("the App draws what the master serves, and a banner when it is gone", async () => {
  const server = fakeMaster({ events: true });
  const app = render(<App master={`http://127.0.0.1:${server.port}`} timing={fast} />);
  stops.push(() => app.unmount());
  await until(() => (app.lastFrame() ?? "").includes("head ━▶ middle ━▶ tail") && (app.lastFrame() ?? "").includes("no heartbeat for 600 ms"));
  expect(app.lastFrame()).toContain("events streamed");
  server.stop(true);
  await until(() => (app.lastFrame() ?? "").includes("master unreachable: connection refused"));
});
