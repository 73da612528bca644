// The TUI's pure parts: rates and sparklines, event merging, the SSE parser, document checks.

import { describe, expect, test } from "bun:test";
import { BadDocument, parseCluster } from "../../src/client/cluster-document.ts";
import { SseParser } from "../../src/client/cluster.ts";
import { overwriteFrame } from "../../tui/overwrite.ts";
import { advance, emptyTrack, rateAt, sparkline, type Track } from "../../tui/metrics.ts";
import { orderNodes, toneOf } from "../../tui/model.ts";
import { mergeEvents, reduce } from "../../tui/state.ts";
import { T0, apply, healthy, steadyState } from "./tui-fixtures.ts";

function track(points: [number, number | null][]): Track {
  return points.reduce((t, [at, end]) => advance(t, at, end), emptyTrack);
}

describe("rates and sparklines", () => {
  test("the rate is the growth over the last two seconds", () => {
    const t = track([[0, 0], [1000, 500], [2000, 1500], [3000, 2500]]);
    expect(rateAt(t.samples, 3000)).toBe(1000);
    expect(rateAt(t.samples, 1000)).toBe(500);
    expect(rateAt(track([[0, 7]]).samples, 0)).toBeNull();
  });

  test("a node that went away and came back with another log end does not draw a burst", () => {
    const t = track([[0, 100], [1000, 200], [2000, null], [3000, null], [4000, 90_000], [5000, 90_100]]);
    expect(t.total).toBe(200);
    expect(rateAt(t.samples, 5000)).toBe(100 / 2);
  });

  test("the sparkline is scaled to the busiest slice, blank before the history, ▁ for idle", () => {
    const points: [number, number][] = [];
    for (let s = 30; s <= 60; s++) points.push([s * 1000, s < 45 ? 0 : (s - 45) * 100]);
    const line = sparkline(track(points).samples, 60_000, 6, 60_000);
    expect(line).toBe("   ▁▅█"); // idle, then 50/s, then 100/s
    expect(sparkline([], 60_000, 4)).toBe("    ");
  });
});

describe("state", () => {
  test("events from the stream and from /v1/cluster are shown once, in time order", () => {
    const a = { time: "2025-01-01T12:00:01.000Z", kind: "failed", message: "node m failed" };
    const b = { time: "2025-01-01T12:00:02.000Z", kind: "reconfigured", message: "chain 1: m removed" };
    const once = mergeEvents([], [b]);
    expect(mergeEvents(once, [a, b])).toEqual([a, b]);
    const same = mergeEvents([a, b], [a]);
    expect(same).toEqual([a, b]);
  });

  test("the first snapshot selects the head; selection stays within the nodes", () => {
    let s = steadyState();
    expect(s.selected).toBe("head");
    s = apply(s, { type: "select", delta: -1 });
    expect(s.selected).toBe("head");
    s = apply(s, { type: "select", delta: 1 }, { type: "select", delta: 1 }, { type: "select", delta: 1 });
    expect(s.selected).toBe("tail");
  });

  test("unreachable counts attempts and keeps the last known cluster", () => {
    const s = apply(steadyState(), { type: "unreachable", at: T0 + 1, reason: "x" }, { type: "unreachable", at: T0 + 2, reason: "y" });
    expect(s.live.link).toEqual({ kind: "down", since: T0 + 1, reason: "y", attempts: 2, lastContact: T0 });
    expect(s.live.cluster?.nodes.length).toBe(3);
    expect(reduce(s, { type: "cluster", at: T0 + 3, snapshot: healthy(5) }).live.link.kind).toBe("up");
  });

  test("nodes are ordered head to tail whatever order the master lists them in", () => {
    expect(orderNodes(healthy(10)).map((n) => n.id)).toEqual(["head", "middle", "tail"]);
    expect(["serving", "syncing", "failed", "silent", "standby"].map(toneOf)).toEqual(["ok", "warn", "bad", "bad", "idle"]);
  });
});

describe("documents", () => {
  test("a document that is not the cluster's is a BadDocument, not a crash later", () => {
    expect(() => parseCluster({ chains: "no" })).toThrow(BadDocument);
    expect(() => parseCluster({ chains: [], nodes: [{}] })).toThrow("nodes[0].id is not a string");
    const doc = parseCluster({ chains: [{ chainId: 1, epoch: 2, members: ["a"], head: "a", tail: "a" }], nodes: [{ id: "a", logEnd: 5 }], events: [{ bad: 1 }] });
    expect(doc.nodes[0]).toMatchObject({ id: "a", logEnd: 5, commitEnd: null, state: "unknown", syncTargetEnd: null });
    expect(doc.events).toEqual([]);
  });

  test("the SSE parser gives the same messages at every split point of the stream", () => {
    const text = 'event: cluster\r\ndata: {"kind":"failed"}\r\n\r\n: keep-alive\n\nevent: cluster\ndata: {"a":\ndata: 1}\n\n';
    const expected = [
      ["cluster", '{"kind":"failed"}'],
      ["cluster", '{"a":\n1}'],
    ];
    for (let cut = 0; cut <= text.length; cut++) {
      const got: string[][] = [];
      const parser = new SseParser((event, data) => got.push([event, data]));
      parser.push(text.slice(0, cut));
      parser.push(text.slice(cut));
      expect(got).toEqual(expected);
    }
  });
});

describe("overwriting frames", () => {
  const erase3 = "\u001B[2K\u001B[1A\u001B[2K\u001B[1A\u001B[2K\u001B[G";
  test("Ink's erase-then-write becomes a write over the last frame", () => {
    expect(overwriteFrame(`${erase3}a\nb\n`)).toBe("\u001B[2A\u001B[Ga\u001B[K\nb\u001B[K\n\u001B[J");
    expect(overwriteFrame("\u001B[2K\u001B[Gx\n")).toBe("\u001B[Gx\u001B[K\n\u001B[J");
  });
  test("anything else passes through", () => {
    expect(overwriteFrame("first frame\n")).toBe("first frame\n");
    expect(overwriteFrame("\u001B[?25l")).toBe("\u001B[?25l");
  });
});
