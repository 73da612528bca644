// The checker must catch each violation it claims to check: small hand-made histories, one bug each.

import { describe, expect, test } from "bun:test";
import { check, type CheckInput, type ReplicaLog } from "./checker.ts";
import type { HistoryEvent } from "./history.ts";

class H {
  events: HistoryEvent[] = [];
  private t = 0;
  private id = 0;
  private at(): number {
    return ++this.t;
  }
  invokeAppend(values: string[]): number {
    const id = ++this.id;
    this.events.push({ t: this.at(), type: "invoke", p: "a", id, f: "append", values });
    return id;
  }
  ok(id: number, offsets: number[]): void {
    this.events.push({ t: this.at(), type: "ok", p: "a", id, f: "append", offsets });
  }
  failAppend(id: number): void {
    this.events.push({ t: this.at(), type: "fail", p: "a", id, f: "append", error: "8: too large" });
  }
  append(value: string, offset: number): void {
    this.ok(this.invokeAppend([value]), [offset]);
  }
  read(from: number, entries: [number, string][], commitEnd: number): void {
    const id = ++this.id;
    this.events.push({ t: this.at(), type: "invoke", p: "r", id, f: "read", from });
    this.events.push({ t: this.at(), type: "ok", p: "r", id, f: "read", from, entries, commitEnd });
  }
  subscribe(from: number, batches: [number, string][][]): void {
    const id = ++this.id;
    this.events.push({ t: this.at(), type: "invoke", p: "s", id, f: "subscribe", from });
    for (const entries of batches) this.events.push({ t: this.at(), type: "ok", p: "s", id, f: "deliver", entries });
  }
  now(): number {
    return this.at();
  }
}

function replica(node: string, values: string[], member = true, recordedCommit = values.length): ReplicaLog {
  return { node, member, recordedCommit, entries: values.map((payload, offset) => ({ offset, payload, clientId: 1, requestId: offset + 1 })) };
}

function run(h: H, logs: ReplicaLog[], extra: Partial<CheckInput> = {}): string[] {
  const result = check({ events: h.events, replicas: logs, finalNode: logs[0].node, losses: [], lossWindowMs: 0, ...extra });
  return Object.keys(result.counts).sort();
}

describe("chaos checker", () => {
  test("a correct history passes", () => {
    const h = new H();
    h.append("a", 0);
    h.append("b", 1);
    h.read(0, [[0, "a"], [1, "b"]], 2);
    h.subscribe(0, [[[0, "a"]], [[1, "b"]]]);
    expect(run(h, [replica("n1", ["a", "b"]), replica("n2", ["a", "b"])])).toEqual([]);
  });

  test("an acknowledged append missing from the final log", () => {
    const h = new H();
    h.append("a", 0);
    h.append("b", 1);
    expect(run(h, [replica("n1", ["a"])])).toEqual(["acked-in-final-log"]);
  });

  test("an acknowledged append at another offset, and a duplicate", () => {
    const h = new H();
    h.append("a", 0);
    h.append("b", 1);
    expect(run(h, [replica("n1", ["b", "a", "b"])])).toEqual(["acked-in-final-log", "no-duplicates"]);
  });

  test("replicas that differ, and a standby that disagrees below its recorded commit", () => {
    const h = new H();
    h.append("a", 0);
    h.append("b", 1);
    expect(run(h, [replica("n1", ["a", "b"]), replica("n2", ["a"])])).toEqual(["replicas-identical"]);
    expect(run(h, [replica("n1", ["a", "b"]), replica("n3", ["a", "x"], false, 2)])).toEqual(["standby-committed-prefix"]);
    expect(run(h, [replica("n1", ["a", "b"]), replica("n3", ["a", "x"], false, 1)])).toEqual([]);
  });

  test("phantom values and values of failed appends", () => {
    const h = new H();
    h.append("a", 0);
    h.failAppend(h.invokeAppend(["f"]));
    expect(run(h, [replica("n1", ["a", "zzz"])])).toEqual(["no-phantom"]);
    expect(run(h, [replica("n1", ["a", "fxxxx"])])).toEqual(["no-failed-visible"]);
  });

  test("a read that is not a slice of the final log, or not contiguous, or above its commit end", () => {
    const h = new H();
    h.append("a", 0);
    h.append("b", 1);
    h.read(0, [[0, "b"]], 2);
    expect(run(h, [replica("n1", ["a", "b"])])).toEqual(["read-in-final-log"]);
    const g = new H();
    g.append("a", 0);
    g.append("b", 1);
    g.read(0, [[1, "b"]], 2);
    expect(run(g, [replica("n1", ["a", "b"])])).toEqual(["read-contiguous"]);
    const k = new H();
    k.append("a", 0);
    k.read(0, [[0, "a"]], 0);
    expect(run(k, [replica("n1", ["a"])])).toContain("read-below-commit");
  });

  test("a subscription that skips an entry", () => {
    const h = new H();
    h.append("a", 0);
    h.append("b", 1);
    h.append("c", 2);
    h.subscribe(0, [[[0, "a"]], [[2, "c"]]]);
    expect(run(h, [replica("n1", ["a", "b", "c"])])).toEqual(["read-contiguous"]);
  });

  test("real-time order: acknowledged before the other was sent, yet a higher offset", () => {
    const h = new H();
    h.append("a", 1);
    h.append("b", 0);
    expect(run(h, [replica("n1", ["b", "a"])])).toEqual(["realtime-order"]);
  });

  test("concurrent appends may take either order", () => {
    const h = new H();
    const a = h.invokeAppend(["a"]);
    const b = h.invokeAppend(["b"]);
    h.ok(a, [1]);
    h.ok(b, [0]);
    expect(run(h, [replica("n1", ["b", "a"])])).toEqual([]);
  });

  test("a stale read: commit end below an acknowledgement made before it", () => {
    const h = new H();
    h.append("a", 0);
    h.append("b", 1);
    h.read(0, [[0, "a"]], 1);
    expect(run(h, [replica("n1", ["a", "b"])])).toEqual(["read-linearizable"]);
  });

  test("a power loss of every node excuses recent acknowledgements only (weaker sync policies)", () => {
    const h = new H();
    h.append("a", 0);
    h.append("b", 1);
    const loss = h.now();
    h.append("c", 1);
    const logs = [replica("n1", ["a", "c"])];
    expect(run(h, logs, { losses: [{ killedAt: loss, restartedAt: loss }], lossWindowMs: 10 })).toEqual([]);
    expect(run(h, logs, { losses: [{ killedAt: loss, restartedAt: loss }], lossWindowMs: 0 })).toEqual(["acked-loss-bound"]);
    expect(run(h, logs)).toEqual(["acked-in-final-log"]);
  });

  test("a power loss of every node does not excuse what every member kept through it (bug 2)", () => {
    // "b" acknowledged after the first loss, then replaced by "old", an older history a stale node
    // brought back; a second loss follows. Every member kept two entries through it: "b" cannot
    // have been lost to it.
    const h = new H();
    h.append("a", 0);
    h.invokeAppend(["old"]); // written at 1 before the loss, never acknowledged
    const first = h.now();
    h.append("b", 1);
    h.append("c", 2);
    const second = h.now();
    const logs = [replica("n1", ["a", "old", "c"])];
    const losses = [{ killedAt: first, restartedAt: first }, { killedAt: second, restartedAt: second }];
    expect(run(h, logs, { losses, lossWindowMs: Infinity })).toEqual([]);
    expect(run(h, logs, { losses: [losses[0], { ...losses[1], keptEnd: 2 }], lossWindowMs: Infinity })).toEqual(["acked-in-final-log"]);
    expect(run(h, logs, { losses: [losses[0], { ...losses[1], keptEnd: 1 }], lossWindowMs: Infinity })).toEqual([]);
  });

  test("an entry acknowledged after a power loss, replaced by one seen before it, is not excused by a later loss (bug 2)", () => {
    const h = new H();
    h.append("a", 0);
    h.invokeAppend(["old"]); // never acknowledged (its client timed out)...
    h.subscribe(0, [[[0, "a"], [1, "old"]]]); // ...but committed at 1 before the first loss
    const first = h.now();
    h.append("b", 1); // the chain came back shorter and acknowledged "b" at 1
    const second = h.now();
    const losses = [{ killedAt: first, restartedAt: first }, { killedAt: second, restartedAt: second }];
    expect(run(h, [replica("n1", ["a", "old"])], { losses, lossWindowMs: Infinity })).toEqual(["acked-in-final-log"]);
    // A newer entry in its place is a loss the later power loss may excuse.
    const g = new H();
    g.append("a", 0);
    const f1 = g.now();
    g.append("b", 1);
    g.invokeAppend(["new"]);
    const f2 = g.now();
    expect(run(g, [replica("n1", ["a", "new"])], { losses: [{ killedAt: f1, restartedAt: f1 }, { killedAt: f2, restartedAt: f2 }], lossWindowMs: Infinity })).toEqual([]);
  });
});
