// The terminal UI, rendered with ink-testing-library from fixture states (no network): what the
// frames say about roles, failures, the master being unreachable, syncing, and the keys.

import { describe, expect, test } from "bun:test";
import { render } from "ink-testing-library";
import { useEffect, useReducer, type Dispatch } from "react";
import type { ClusterDocument } from "../../src/client/cluster-document.ts";
import { Screen } from "../../tui/components/screen.tsx";
import { useKeys, type DemoControls } from "../../tui/hooks/use-keys.ts";
import { initialState, reduce, type Action, type TuiState } from "../../tui/state.ts";
import { waitUntil } from "../helpers/wait.ts";
import { MASTER, T0, apply, healthy, node, status, steadyState } from "./tui-fixtures.ts";

const strip = (s: string | undefined) => (s ?? "").replace(/\x1b\[[0-9;]*m/g, "");

function frameOf(state: TuiState, columns = 80, rows = 24): string {
  const { lastFrame, unmount } = render(<Screen state={state} columns={columns} rows={rows} retryMs={1000} />);
  const frame = strip(lastFrame());
  unmount();
  return frame;
}

const lineOf = (frame: string, id: string) => frame.split("\n").find((l) => new RegExp(`^[› ] ${id}\\s`).test(l)) ?? "";

/** The middle node died: the master dropped it from the chain and bumped the epoch. */
function middleFailed(end: number): ClusterDocument {
  const base = healthy(end, 4);
  return {
    ...base,
    chains: [{ ...base.chains[0], members: ["head", "tail"] }],
    nodes: [node("head", "head", end), node("tail", "tail", end), node("middle", "standby", null, { state: "failed", chainId: null, heartbeatAgeMs: 2400 })],
    events: [
      ...base.events,
      { time: new Date(T0 - 1000).toISOString(), kind: "failed", message: "node middle failed: no heartbeat for 644 ms", nodeId: "middle" },
      { time: new Date(T0 - 999).toISOString(), kind: "reconfigured", message: "chain 1: middle removed; chain is now head -> tail (epoch 4)", chainId: 1, epoch: 4 },
    ],
  };
}

describe("frames", () => {
  test("the chain is drawn head → middle → tail, and the table lists the nodes in that order", () => {
    const frame = frameOf(steadyState());
    expect(frame).toContain("chain 1 epoch 3  head ━▶ middle ━▶ tail");
    const rows = frame.split("\n").filter((l) => /^[› ] (head|middle|tail)\s/.test(l));
    expect(rows.map((l) => l.trim().replace(/^› /, "").split(/\s+/).slice(0, 3))).toEqual([
      ["head", "head", "serving"],
      ["middle", "middle", "serving"],
      ["tail", "tail", "serving"],
    ]);
    // 100 entries every 200 ms: 500 a second, and a full sparkline of steady appends
    expect(lineOf(frame, "head")).toMatch(/\s500 ████████+\s+40ms$/);
    expect(lineOf(frame, "middle")).toMatch(/serving\s+30999\s+30999\s+1\s/);
    expect(frame).toContain("joined       node tail joined chain 1 at position 3 (epoch 3)");
  });

  test("fits 80×24: no line wider than the terminal, one row spare so Ink never clears the screen", () => {
    for (const [columns, rows] of [[80, 24], [100, 30], [60, 16]]) {
      const lines = frameOf(apply(steadyState(), { type: "unreachable", at: T0 + 1000, reason: "connection refused" }), columns, rows).split("\n");
      expect(lines.length).toBeLessThanOrEqual(rows - 1);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(columns);
    }
  });

  test("a failed node is shown as failed, out of the chain, with the failure and the reconfiguration in the log", () => {
    const frame = frameOf(apply(steadyState(), { type: "cluster", at: T0 + 200, snapshot: middleFailed(31_100) }));
    expect(frame).toContain("chain 1 epoch 4  head ━▶ tail");
    expect(lineOf(frame, "middle")).toMatch(/middle\s+standby\s+failed\s+-\s+-\s+-\s+-\s+-\s.*2\.4s$/);
    expect(frame).toContain("failed       node middle failed: no heartbeat for 644 ms");
    expect(frame).toContain("reconfigured chain 1: middle removed; chain is now head -> tail");
  });

  test("master unreachable: a banner that says so and that it retries, the last known state below, no stack trace", () => {
    let s = steadyState();
    for (let i = 1; i <= 3; i++) s = apply(s, { type: "unreachable", at: T0 + i * 1000, reason: "connection refused" });
    const frame = frameOf(s);
    expect(frame).toMatch(/master unreachable: connection refused · retry 3 every 1s · last seen \d\d:\d\d:\d\d/);
    expect(frame).toContain("head ━▶ middle ━▶ tail");
    expect(frame).not.toMatch(/Error|\bat .*\(.*:\d+:\d+\)/);
    expect(frameOf(apply(s, { type: "cluster", at: T0 + 4000, snapshot: healthy(40_000) }))).not.toContain("unreachable");
  });

  test("before the first answer it says it is connecting", () => {
    const frame = frameOf(initialState(MASTER, false, T0));
    expect(frame).toContain(`connecting to the master at ${MASTER}`);
  });

  test("a syncing node shows its catch-up as a progress bar with MB/s and time left", () => {
    let s = initialState(MASTER, false, T0);
    const head = 100_000;
    for (let i = 0; i <= 10; i++) {
      const base = healthy(head, 5);
      const snapshot: ClusterDocument = {
        ...base,
        chains: [{ ...base.chains[0], members: ["head", "tail"], syncing: "middle" }],
        nodes: [
          node("head", "head", head, { bytes: 10_000_000 }),
          node("tail", "tail", head, { bytes: 10_000_000 }),
          // 10 000 entries (1 MB) a second, half way after 2 s: 5 s left
          node("middle", "syncing", i * 2000 + 30_000, { state: "syncing", bytes: (i * 2000 + 30_000) * 100, syncTargetEnd: head }),
        ],
      };
      s = apply(s, { type: "cluster", at: T0 + i * 200, snapshot });
    }
    const frame = frameOf(s);
    expect(frame).toContain("head ━▶ tail ┄▶ middle (syncing)");
    expect(lineOf(frame, "middle")).toMatch(/middle\s+syncing\s+syncing\s+50000\s+50000\s+50000\s+5\.0MB\s+10\.0k\s/);
    const bar = frame.split("\n").find((l) => l.includes("▕")) ?? "";
    expect(bar).toMatch(/^  middle  syncing ▕█+░+▏  50%\s+1\.0MB\/s\s+5s left  50000\/100000$/);
    expect(bar.length).toBeLessThanOrEqual(80);
  });
});

function Harness({ initial, demo, expose, committed }: { initial: TuiState; demo?: DemoControls; expose?: (d: Dispatch<Action>) => void; committed?: (s: TuiState) => void }) {
  const [state, dispatch] = useReducer(reduce, initial);
  expose?.(dispatch);
  useKeys(state, dispatch, demo, () => T0);
  // Effects run after Ink has written the frame of this render: the state seen here is on screen.
  useEffect(() => committed?.(state), [state, committed]);
  return <Screen state={state} columns={80} rows={24} retryMs={1000} />;
}

const keys = { down: "\u001B[B", up: "\u001B[A", enter: "\r", escape: "\u001B" };

interface Mounted {
  app: ReturnType<typeof render>;
  /** The frame on screen when the effects of its render had run: the key handler then sees the
   * state that frame shows. Ink writes a frame before React runs effects, so a key typed between
   * the two would reach the handler of the render before. */
  settledFrame: string | null;
  /** The state of that render. */
  settledState: TuiState | null;
}

function mount(props: { initial: TuiState; demo?: DemoControls; expose?: (d: Dispatch<Action>) => void }): Mounted {
  const mounted: Mounted = { app: undefined as unknown as Mounted["app"], settledFrame: null, settledState: null };
  const committed = (s: TuiState) => {
    mounted.settledState = s;
    mounted.settledFrame = mounted.app ? strip(mounted.app.lastFrame()) : null;
  };
  mounted.app = render(<Harness {...props} committed={committed} />);
  // The first render's effects may run inside render(), before `app` is known.
  if (mounted.settledState) committed(mounted.settledState);
  return mounted;
}

/** Waits until the frame on screen passes `check` and its render has settled, and returns it. The
 * deadline is generous, since the full test run loads the machine; a frame that never comes fails
 * the test with the last one seen. */
function frameWhere(m: Mounted, check: (frame: string) => boolean, what: string): Promise<string> {
  const frame = () => strip(m.app.lastFrame());
  return waitUntil(() => (m.settledFrame === frame() && check(frame()) ? frame() : null), { timeoutMs: 5000, pollMs: 5, what, lastSeen: frame });
}

const selected = (id: string) => (frame: string) => lineOf(frame, id).startsWith(`› ${id}`);

describe("keys", () => {
  test("↑/↓ move the selection; enter shows the node's details from its /v1/status; esc closes them", async () => {
    const initial = apply(steadyState(), { type: "status", at: T0, nodeId: "middle", status: status(30_999, 3_099_900), reason: null });
    const app = mount({ initial });
    await frameWhere(app, selected("head"), "the head was not selected at first");
    app.app.stdin.write(keys.down);
    await frameWhere(app, selected("middle"), "↓ did not select the middle");
    app.app.stdin.write(keys.down);
    app.app.stdin.write(keys.down);
    await frameWhere(app, selected("tail"), "↓ ↓ did not stop at the tail");
    app.app.stdin.write(keys.up);
    await frameWhere(app, selected("middle"), "↑ did not select the middle");
    app.app.stdin.write(keys.enter);
    const details = await frameWhere(app, (f) => f.includes("data dir"), "enter did not show the middle's details");
    expect(details).toContain("data dir  /var/lib/catena/x");
    expect(details).toContain("sync      always");
    expect(details).toContain("segments  2 · 3.1MB");
    expect(details).toMatch(/client    127\.0\.0\.1:\d+\nreplicate 127\.0\.0\.1:\d+\nadmin     127\.0\.0\.1:\d+/);
    expect(details).not.toContain("EVENTS");
    app.app.stdin.write(keys.escape);
    await frameWhere(app, (f) => f.includes("EVENTS") && !f.includes("data dir"), "esc did not close the details");
    app.app.unmount();
  });

  test("p freezes the screen while the feed goes on, and p again shows the present", async () => {
    let dispatch: Dispatch<Action> = () => {};
    const app = mount({ initial: steadyState(), expose: (d) => (dispatch = d) });
    await frameWhere(app, (f) => f.includes("head ━▶ middle ━▶ tail"), "the chain was not drawn");
    app.app.stdin.write("p");
    const paused = await frameWhere(app, (f) => f.includes("PAUSED"), "p did not pause");
    expect(paused).toContain("p resume");
    const failure = middleFailed(40_000);
    dispatch({ type: "cluster", at: T0 + 200, snapshot: failure });
    // Not "nothing changed after a while": the render that holds the new snapshot has been written.
    await waitUntil(() => app.settledState?.live.cluster === failure, { timeoutMs: 5000, pollMs: 5, what: "the paused screen did not render the new snapshot" });
    expect(strip(app.app.lastFrame())).toBe(paused);
    app.app.stdin.write("p");
    const live = await frameWhere(app, (f) => !f.includes("PAUSED"), "p again did not resume");
    expect(lineOf(live, "middle")).toContain("failed");
    expect(live).toContain("head ━▶ tail");
    app.app.unmount();
  });

  test("demo keys act on the selected node and toggle the load; without a demo they do nothing", async () => {
    const calls: string[] = [];
    const demo: DemoControls = {
      kill: (id) => void calls.push(`kill ${id}`),
      restart: async (id) => {
        calls.push(`restart ${id}`);
        throw new Error(`${id} is still running`);
      },
      startLoad: () => void calls.push("load on"),
      stopLoad: () => void calls.push("load off"),
    };
    const app = mount({ initial: steadyState(100, true), demo });
    await frameWhere(app, (f) => f.includes("k kill  r restart  l start load"), "the demo keys were not listed");
    app.app.stdin.write(keys.down);
    await frameWhere(app, selected("middle"), "↓ did not select the middle");
    app.app.stdin.write("k");
    await frameWhere(app, (f) => f.includes("killed middle (SIGKILL)"), "k did not kill the middle");
    app.app.stdin.write("r");
    await frameWhere(app, (f) => f.includes("restarting middle failed: middle is still running"), "r did not report the failed restart");
    app.app.stdin.write("l");
    await frameWhere(app, (f) => f.includes("l stop load"), "l did not start the load");
    app.app.stdin.write("l");
    await frameWhere(app, (f) => f.includes("l start load"), "l again did not stop the load");
    expect(calls).toEqual(["kill middle", "restart middle", "load on", "load off"]);
    app.app.unmount();

    // Without a demo, k is ignored: the ↓ typed after it has been handled, so k has been too.
    const plain = mount({ initial: steadyState() });
    await frameWhere(plain, selected("head"), "the head was not selected at first");
    plain.app.stdin.write("k");
    plain.app.stdin.write(keys.down);
    const after = await frameWhere(plain, selected("middle"), "↓ after k did not select the middle");
    expect(after).not.toContain("kill");
    plain.app.unmount();
  });
});
