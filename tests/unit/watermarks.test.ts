// The commit rule as transcripts: events in, effects out (src/chain/watermarks.ts).
// DURABLE flows down (the lowest ackable end of a node and every node above it); the tail turns it
// into the commit end; COMMIT flows back up.

import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Watermarks } from "../../src/chain/watermarks.ts";

describe("Watermarks", () => {
  test("single node: the commit end follows the local ackable end", () => {
    const w = new Watermarks(true, true);
    expect(w.commitEnd).toBe(0);
    expect(w.localAdvanced(5)).toEqual({ committedFrom: 0, committed: 5 });
    expect(w.localAdvanced(5)).toEqual({});
    expect(w.localAdvanced(3)).toEqual({});
    expect(w.localAdvanced(9)).toEqual({ committedFrom: 5, committed: 9 });
    expect(w.prefixDurable).toBe(9);
    expect(w.commitEnd).toBe(9);
  });

  test("head with a successor: DURABLE = local; commit only as reported from below, clamped to the log", () => {
    const w = new Watermarks(true, false);
    expect(w.localAdvanced(4)).toEqual({ durableDown: 4 });
    expect(w.localAdvanced(10)).toEqual({ durableDown: 10 });
    expect(w.upstreamAdvanced(2)).toEqual({}); // a head has no predecessor: ignored for DURABLE
    expect(w.prefixDurable).toBe(10);
    expect(w.commitEnd).toBe(0); // the head never decides a commit itself
    expect(w.commitReported(6, 10)).toEqual({ committedFrom: 0, committed: 6 });
    expect(w.commitReported(50, 12)).toEqual({ committedFrom: 6, committed: 12 }); // never beyond its log
    expect(w.commitReported(12, 12)).toEqual({});
    expect(w.commitReported(3, 12)).toEqual({});
    expect(w.commitEnd).toBe(12);
  });

  test("middle: DURABLE = min(local, predecessor's DURABLE)", () => {
    const w = new Watermarks(false, false);
    expect(w.localAdvanced(10)).toEqual({ durableDown: 0 }); // min(10, 0): first value, sent once
    expect(w.localAdvanced(11)).toEqual({}); // still 0
    expect(w.upstreamAdvanced(6)).toEqual({ durableDown: 6 });
    expect(w.upstreamAdvanced(15)).toEqual({ durableDown: 11 });
    expect(w.localAdvanced(14)).toEqual({ durableDown: 14 });
    expect(w.upstreamAdvanced(14)).toEqual({});
    expect(w.upstreamAdvanced(13)).toEqual({}); // an older value changes nothing
    expect(w.commitEnd).toBe(0);
    expect(w.commitReported(9, 14)).toEqual({ committedFrom: 0, committed: 9 });
  });

  test("tail: commit = min(local, predecessor's DURABLE); no DURABLE sent", () => {
    const w = new Watermarks(false, true);
    expect(w.localAdvanced(4)).toEqual({}); // the predecessor has reported nothing yet
    expect(w.upstreamAdvanced(3)).toEqual({ committedFrom: 0, committed: 3 });
    expect(w.upstreamAdvanced(9)).toEqual({ committedFrom: 3, committed: 4 }); // capped by its own end
    expect(w.localAdvanced(12)).toEqual({ committedFrom: 4, committed: 9 });
    expect(w.localAdvanced(20)).toEqual({});
    expect(w.commitEnd).toBe(9);
  });

  test("the initial commit end is kept and never lowered", () => {
    const w = new Watermarks(false, true, 5);
    expect(w.commitEnd).toBe(5);
    w.localAdvanced(10);
    expect(w.upstreamAdvanced(4)).toEqual({});
    expect(w.commitEnd).toBe(5);
    expect(w.upstreamAdvanced(7)).toEqual({ committedFrom: 5, committed: 7 });
  });

  test("reposition resets the predecessor's DURABLE and re-announces this node's value", () => {
    const w = new Watermarks(false, false);
    w.localAdvanced(10);
    expect(w.upstreamAdvanced(8)).toEqual({ durableDown: 8 });
    // New epoch, same place: the predecessor's value starts from zero again.
    expect(w.reposition(false, false)).toEqual({ durableDown: 0 });
    expect(w.upstreamAdvanced(3)).toEqual({ durableDown: 3 }); // a lower value than before is taken again
    // The predecessor is gone: this node is the head now and reports its own end.
    expect(w.reposition(true, false)).toEqual({ durableDown: 10 });
    // Nothing changed, but the new successor still hears the value once.
    expect(w.reposition(true, false)).toEqual({ durableDown: 10 });
  });

  test("a middle that becomes tail commits only what its predecessor has reported since", () => {
    const w = new Watermarks(false, false);
    w.localAdvanced(10);
    w.upstreamAdvanced(10);
    expect(w.commitReported(6, 10)).toEqual({ committedFrom: 0, committed: 6 });
    expect(w.reposition(false, true)).toEqual({}); // predecessor's value reset to 0: commit stays at 6
    expect(w.commitEnd).toBe(6);
    expect(w.upstreamAdvanced(5)).toEqual({});
    expect(w.upstreamAdvanced(9)).toEqual({ committedFrom: 6, committed: 9 });
  });

  test("a head whose successors are all gone commits what it holds", () => {
    const w = new Watermarks(true, false);
    w.localAdvanced(10);
    w.commitReported(4, 10);
    expect(w.reposition(true, true)).toEqual({ committedFrom: 4, committed: 10 });
  });

  test("a replica starts as a lone non-head and then takes its place", () => {
    // Replica builds Watermarks(false, false) and reports its log before any layout arrives.
    const w = new Watermarks(false, false);
    expect(w.localAdvanced(7)).toEqual({ durableDown: 0 });
    expect(w.reposition(true, true)).toEqual({ committedFrom: 0, committed: 7 });
  });

  test("random event sequences: commit never decreases and effects agree with the state", () => {
    const event = fc.oneof(
      fc.record({ kind: fc.constant("local" as const), value: fc.nat({ max: 50 }) }),
      fc.record({ kind: fc.constant("upstream" as const), value: fc.nat({ max: 50 }) }),
      fc.record({ kind: fc.constant("reported" as const), value: fc.nat({ max: 60 }), logEnd: fc.nat({ max: 60 }) }),
      fc.record({ kind: fc.constant("reposition" as const), isHead: fc.boolean(), isTail: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.nat({ max: 5 }), fc.array(event, { maxLength: 40 }), (isHead, isTail, initial, events) => {
        const w = new Watermarks(isHead, isTail, initial);
        let head = isHead;
        let tail = isTail;
        let local = 0;
        let upstream = 0;
        for (const e of events) {
          const before = w.commitEnd;
          let effects;
          if (e.kind === "local") {
            effects = w.localAdvanced(e.value);
            local = Math.max(local, e.value);
          } else if (e.kind === "upstream") {
            effects = w.upstreamAdvanced(e.value);
            upstream = Math.max(upstream, e.value);
          } else if (e.kind === "reported") effects = w.commitReported(e.value, e.logEnd);
          else {
            effects = w.reposition(e.isHead, e.isTail);
            head = e.isHead;
            tail = e.isTail;
            upstream = 0;
          }
          const prefix = head ? local : Math.min(local, upstream);
          expect(w.prefixDurable).toBe(prefix);
          expect(w.commitEnd).toBeGreaterThanOrEqual(before);
          if (effects.committed !== undefined) {
            expect(effects).toMatchObject({ committedFrom: before, committed: w.commitEnd });
            expect(w.commitEnd).toBeGreaterThan(before);
            // A commit is decided by the tail from the chain's minimum, or reported from below.
            if (e.kind === "reported") expect(w.commitEnd).toBe(Math.min(e.value, e.logEnd));
            else {
              expect(tail).toBe(true);
              expect(w.commitEnd).toBe(prefix);
            }
          } else expect(w.commitEnd).toBe(before);
          if (effects.durableDown !== undefined) {
            expect(tail).toBe(false);
            expect(effects.durableDown).toBe(prefix);
          }
          if (e.kind === "reported") expect(effects.durableDown).toBeUndefined();
        }
      }),
      { numRuns: 300 },
    );
  });
});
