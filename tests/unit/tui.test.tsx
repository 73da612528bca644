// The terminal UI, rendered with ink-testing-library from fixture states (no network): what the
// frames say about roles, failures, the master being unreachable, syncing, and the keys.

import { describe, expect, test } from "bun:test";
import { render } from "ink-testing-library";
import { useReducer, type Dispatch } from "react";
import type { ClusterDocument } from "../../src/client/cluster-document.ts";
import { Screen } from "../../tui/components/screen.tsx";
import { useKeys, type DemoControls } from "../../tui/hooks/use-keys.ts";
import { initialState, reduce, type Action, type TuiState } from "../../tui/state.ts";
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

function Harness({ initial, demo, expose }: { initial: TuiState; demo?: DemoControls; expose?: (d: Dispatch<Action>) => void }) {
  const [state, dispatch] = useReducer(reduce, initial);
  expose?.(dispatch);
  useKeys(state, dispatch, demo, () => T0);
  return <Screen state={state} columns={80} rows={24} retryMs={1000} />;
}

const keys = { down: "\u001B[B", up: "\u001B[A", enter: "\r", escape: "\u001B" };
/** Lets React and Ink render after input. Generous, since the full test run loads the machine. */
const settle = () => Bun.sleep(60);

describe("keys", () => {
  test("↑/↓ move the selection; enter shows the node's details from its /v1/status; esc closes them", async () => {
    const initial = apply(steadyState(), { type: "status", at: T0, nodeId: "middle", status: status(30_999, 3_099_900), reason: null });
    const app = render(<Harness initial={initial} />);
    await settle();
    expect(lineOf(strip(app.lastFrame()), "head")).toStartWith("› head");
    app.stdin.write(keys.down);
    await settle();
    expect(lineOf(strip(app.lastFrame()), "middle")).toStartWith("› middle");
    app.stdin.write(keys.down);
    app.stdin.write(keys.down);
    await settle();
    expect(lineOf(strip(app.lastFrame()), "tail")).toStartWith("› tail");
    app.stdin.write(keys.up);
    await settle();
    app.stdin.write(keys.enter);
    await settle();
    const details = strip(app.lastFrame());
    expect(details).toContain("data dir  /var/lib/catena/x");
    expect(details).toContain("sync      always");
    expect(details).toContain("segments  2 · 3.1MB");
    expect(details).toMatch(/client    127\.0\.0\.1:\d+\nreplicate 127\.0\.0\.1:\d+\nadmin     127\.0\.0\.1:\d+/);
    expect(details).not.toContain("EVENTS");
    app.stdin.write(keys.escape);
    await settle();
    expect(strip(app.lastFrame())).toContain("EVENTS");
    app.unmount();
  });

  test("p freezes the screen while the feed goes on, and p again shows the present", async () => {
    let dispatch: Dispatch<Action> = () => {};
    const app = render(<Harness initial={steadyState()} expose={(d) => (dispatch = d)} />);
    await settle();
    app.stdin.write("p");
    await settle();
    const paused = strip(app.lastFrame());
    expect(paused).toContain("PAUSED");
    expect(paused).toContain("p resume");
    dispatch({ type: "cluster", at: T0 + 200, snapshot: middleFailed(40_000) });
    await settle();
    expect(strip(app.lastFrame())).toBe(paused);
    app.stdin.write("p");
    await settle();
    const live = strip(app.lastFrame());
    expect(live).not.toContain("PAUSED");
    expect(lineOf(live, "middle")).toContain("failed");
    app.unmount();
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
    const app = render(<Harness initial={steadyState(100, true)} demo={demo} />);
    await settle();
    expect(strip(app.lastFrame())).toContain("k kill  r restart  l start load");
    app.stdin.write(keys.down);
    await settle();
    app.stdin.write("k");
    await settle();
    expect(strip(app.lastFrame())).toContain("killed middle (SIGKILL)");
    app.stdin.write("r");
    await settle();
    expect(strip(app.lastFrame())).toContain("restarting middle failed: middle is still running");
    app.stdin.write("l");
    await settle();
    expect(strip(app.lastFrame())).toContain("l stop load");
    app.stdin.write("l");
    for (let i = 0; i < 50 && calls.length < 4; i++) await settle();
    expect(calls).toEqual(["kill middle", "restart middle", "load on", "load off"]);
    app.unmount();

    const plain = render(<Harness initial={steadyState()} />);
    await settle();
    plain.stdin.write("k");
    await settle();
    expect(strip(plain.lastFrame())).not.toContain("kill");
    plain.unmount();
  });
});
