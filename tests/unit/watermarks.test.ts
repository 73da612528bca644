// The commit rule as transcripts: events in, effects out (src/chain/watermarks.ts).

import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Watermarks } from "../../src/chain/watermarks.ts";

describe("Watermarks", () => {
  test("single node: the commit end follows the local ackable end", () => {
    const w = new Watermarks(true, false, 0);
    expect(w.localAdvanced(5)).toEqual({ committed: 5 });
    expect(w.commitEnd).toBe(5);
    expect(w.localAdvanced(5)).toEqual({});
    expect(w.localAdvanced(3)).toEqual({});
    expect(w.localAdvanced(9)).toEqual({ committed: 9 });
    expect(w.suffix).toBe(9);
    expect(w.commitEnd).toBe(9);
  });

  test("head with a successor: commit = min(local, downstream ack)", () => {
    const w = new Watermarks(true, true, 0);
    expect(w.localAdvanced(10)).toEqual({}); // the successor holds nothing yet
    expect(w.commitEnd).toBe(0);
    expect(w.downstreamAcked(4)).toEqual({ committed: 4 });
    expect(w.downstreamAcked(4)).toEqual({});
    expect(w.downstreamAcked(12)).toEqual({ committed: 10 }); // capped by the head's own ackable end
    expect(w.localAdvanced(11)).toEqual({ committed: 11 });
    expect(w.localAdvanced(20)).toEqual({ committed: 12 });
    expect(w.downstreamAcked(7)).toEqual({}); // an older ACK changes nothing
    expect(w.commitEnd).toBe(12);
  });

  test("the head never sends an ACK upstream", () => {
    const w = new Watermarks(true, true, 0);
    const effects = [w.localAdvanced(3), w.downstreamAcked(2), w.downstreamAcked(3), w.reposition(true, false), w.localAdvanced(8)];
    expect(effects.every((e) => e.ackUp === undefined)).toBe(true);
  });

  test("middle: ACK upstream = min(local, downstream ack); commit only as announced", () => {
    const w = new Watermarks(false, true, 0);
    expect(w.localAdvanced(10)).toEqual({}); // min(10, 0) = 0: unchanged
    expect(w.downstreamAcked(6)).toEqual({ ackUp: 6 });
    expect(w.localAdvanced(12)).toEqual({});
    expect(w.downstreamAcked(15)).toEqual({ ackUp: 12 });
    expect(w.localAdvanced(14)).toEqual({ ackUp: 14 });
    expect(w.suffix).toBe(14);
    expect(w.commitEnd).toBe(0); // a middle never decides a commit itself
    expect(w.commitAnnounced(6, 14)).toEqual({ committed: 6 });
    expect(w.commitEnd).toBe(6);
  });

  test("tail: ACK upstream = local; commit only via commitAnnounced, clamped to the log end", () => {
    const w = new Watermarks(false, false, 0);
    expect(w.localAdvanced(4)).toEqual({ ackUp: 4 });
    expect(w.localAdvanced(9)).toEqual({ ackUp: 9 });
    expect(w.downstreamAcked(100)).toEqual({}); // no successor: ignored for the suffix
    expect(w.suffix).toBe(9);
    expect(w.commitEnd).toBe(0);
    expect(w.commitAnnounced(7, 9)).toEqual({ committed: 7 });
    expect(w.commitAnnounced(50, 9)).toEqual({ committed: 9 }); // never beyond what it holds
    expect(w.commitAnnounced(50, 9)).toEqual({});
    expect(w.commitAnnounced(3, 9)).toEqual({});
    expect(w.commitEnd).toBe(9);
  });

  test("the initial commit end is kept", () => {
    const w = new Watermarks(false, false, 5);
    expect(w.commitEnd).toBe(5);
    expect(w.commitAnnounced(4, 10)).toEqual({});
    expect(w.commitAnnounced(6, 10)).toEqual({ committed: 6 });
  });

  test("reposition resets the successor's ACK and re-announces the suffix", () => {
    const w = new Watermarks(false, true, 0);
    w.localAdvanced(10);
    expect(w.downstreamAcked(8)).toEqual({ ackUp: 8 });
    // New epoch, same place: the successor starts from zero again, so the ACK drops to 0.
    expect(w.reposition(false, true)).toEqual({ ackUp: 0 });
    expect(w.downstreamAcked(3)).toEqual({ ackUp: 3 }); // a lower ACK than before is taken again
    // The successor is gone: this node is the tail now and ACKs its own end.
    expect(w.reposition(false, false)).toEqual({ ackUp: 10 });
    // Nothing changed, but the new predecessor still hears the ACK once.
    expect(w.reposition(false, false)).toEqual({ ackUp: 10 });
  });

  test("a middle promoted to head commits from its successor's ACKs, never less than before", () => {
    const w = new Watermarks(false, true, 0);
    w.localAdvanced(10);
    w.downstreamAcked(10);
    expect(w.commitAnnounced(6, 10)).toEqual({ committed: 6 });
    expect(w.reposition(true, true)).toEqual({}); // successor's ACK reset to 0: commit stays at 6
    expect(w.commitEnd).toBe(6);
    expect(w.downstreamAcked(5)).toEqual({});
    expect(w.downstreamAcked(9)).toEqual({ committed: 9 });
  });

  test("a head that loses its successor commits what it holds", () => {
    const w = new Watermarks(true, true, 0);
    w.localAdvanced(10);
    w.downstreamAcked(4);
    expect(w.commitEnd).toBe(4);
    expect(w.reposition(true, false)).toEqual({ committed: 10 });
  });

  test("a node joining as head of a single-node chain commits its own log", () => {
    // The replica starts every Watermarks as a lone non-head, then applies its layout.
    const w = new Watermarks(false, false, 0);
    expect(w.localAdvanced(7)).toEqual({ ackUp: 7 });
    expect(w.reposition(true, false)).toEqual({ committed: 7 });
  });

  test("random event sequences: commit never decreases, effects agree with the state", () => {
    const event = fc.oneof(
      fc.record({ kind: fc.constant("local" as const), value: fc.nat({ max: 50 }) }),
      fc.record({ kind: fc.constant("downstream" as const), value: fc.nat({ max: 50 }) }),
      fc.record({ kind: fc.constant("announce" as const), value: fc.nat({ max: 60 }), logEnd: fc.nat({ max: 60 }) }),
      fc.record({ kind: fc.constant("reposition" as const), isHead: fc.boolean(), hasSuccessor: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.nat({ max: 5 }), fc.array(event, { maxLength: 40 }), (isHead, hasSuccessor, initial, events) => {
        const w = new Watermarks(isHead, hasSuccessor, initial);
        let head = isHead;
        let local = 0;
        let lastAck: number | undefined;
        for (const e of events) {
          const before = w.commitEnd;
          let effects;
          if (e.kind === "local") {
            effects = w.localAdvanced(e.value);
            local = Math.max(local, e.value);
          } else if (e.kind === "downstream") effects = w.downstreamAcked(e.value);
          else if (e.kind === "announce") effects = w.commitAnnounced(e.value, e.logEnd);
          else {
            effects = w.reposition(e.isHead, e.hasSuccessor);
            head = e.isHead;
          }
          expect(w.commitEnd).toBeGreaterThanOrEqual(before);
          if (effects.committed !== undefined) {
            expect(effects.committed).toBe(w.commitEnd);
            expect(effects.committed).toBeGreaterThan(before);
          } else expect(w.commitEnd).toBe(before);
          if (effects.ackUp !== undefined) {
            expect(head).toBe(false);
            expect(effects.ackUp).toBe(w.suffix);
            lastAck = effects.ackUp;
          }
          expect(w.suffix).toBeLessThanOrEqual(local);
          if (e.kind !== "announce" && effects.committed !== undefined) {
            // A commit decided by this node is never beyond what it holds itself.
            expect(head).toBe(true);
            expect(w.commitEnd).toBeLessThanOrEqual(local);
          }
          if (e.kind === "announce" && effects.committed !== undefined) expect(w.commitEnd).toBeLessThanOrEqual(e.logEnd);
          // Whatever the predecessor heard last is the current suffix unless it was reset since.
          if (!head && lastAck !== undefined && e.kind !== "reposition" && effects.ackUp === undefined && e.kind !== "announce") {
            expect(w.suffix).toBe(lastAck);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
