// The head's duplicate detection for retried appends (src/node/dedup.ts).

import { describe, expect, test } from "bun:test";
import { DEDUP_CLIENTS_MAX, DEDUP_REQUESTS_PER_CLIENT, DedupTable } from "../../src/node/dedup.ts";

describe("DedupTable", () => {
  test("an unknown client's request is new", () => {
    const t = new DedupTable();
    expect(t.check(1, 1)).toEqual({ kind: "new" });
    expect(t.check(1, 0)).toEqual({ kind: "new" });
  });

  test("a recorded request is a duplicate carrying its first offset", () => {
    const t = new DedupTable();
    t.record(7, 1, 100);
    t.record(7, 4, 103); // a request of 3 entries used ids 1..3; the next starts at 4
    expect(t.check(7, 1)).toEqual({ kind: "duplicate", firstOffset: 100 });
    expect(t.check(7, 4)).toEqual({ kind: "duplicate", firstOffset: 103 });
    expect(t.check(7, 7)).toEqual({ kind: "new" });
    expect(t.check(7, 2)).toEqual({ kind: "new" }); // only a request's first id is looked up
  });

  test("clients are kept apart", () => {
    const t = new DedupTable();
    t.record(1, 5, 10);
    t.record(2, 5, 20);
    expect(t.check(1, 5)).toEqual({ kind: "duplicate", firstOffset: 10 });
    expect(t.check(2, 5)).toEqual({ kind: "duplicate", firstOffset: 20 });
    expect(t.check(3, 5)).toEqual({ kind: "new" });
  });

  test("recording every entry (as a rebuild from the log does) finds a request by its first id", () => {
    const t = new DedupTable();
    for (let k = 0; k < 4; k++) t.record(9, 50 + k, 1000 + k);
    expect(t.check(9, 50)).toEqual({ kind: "duplicate", firstOffset: 1000 });
    expect(t.check(9, 54)).toEqual({ kind: "new" });
  });

  test("past the per-client window the oldest request is forgotten and reported too old", () => {
    const t = new DedupTable();
    for (let i = 1; i <= DEDUP_REQUESTS_PER_CLIENT; i++) t.record(1, i, i * 10);
    expect(t.check(1, 1)).toEqual({ kind: "duplicate", firstOffset: 10 });
    t.record(1, DEDUP_REQUESTS_PER_CLIENT + 1, 0);
    expect(t.check(1, 1)).toEqual({ kind: "tooOld" });
    expect(t.check(1, 0)).toEqual({ kind: "tooOld" });
    expect(t.check(1, 2)).toEqual({ kind: "duplicate", firstOffset: 20 });
    expect(t.check(1, DEDUP_REQUESTS_PER_CLIENT + 2)).toEqual({ kind: "new" });
    for (let i = 2; i <= 5; i++) t.record(1, DEDUP_REQUESTS_PER_CLIENT + i, 0);
    expect(t.check(1, 5)).toEqual({ kind: "tooOld" });
    expect(t.check(1, 6)).toEqual({ kind: "duplicate", firstOffset: 60 });
  });

  test("one client's window does not evict another's", () => {
    const t = new DedupTable();
    t.record(2, 1, 5);
    // Offsets far apart: every request is its own run (as when other clients' entries fall between).
    for (let i = 1; i <= DEDUP_REQUESTS_PER_CLIENT + 10; i++) t.record(1, i, i * 10);
    expect(t.check(1, 1)).toEqual({ kind: "tooOld" });
    expect(t.check(2, 1)).toEqual({ kind: "duplicate", firstOffset: 5 });
  });

  test("ids recorded out of order are still found; the oldest in id order are forgotten first", () => {
    const t = new DedupTable();
    t.record(1, 100_000, 0);
    for (let i = 1; i < 50; i++) t.record(1, i, i); // below the newest: kept aside
    expect(t.check(1, 100_000)).toEqual({ kind: "duplicate", firstOffset: 0 });
    expect(t.check(1, 7)).toEqual({ kind: "duplicate", firstOffset: 7 });
    for (let i = 1; i <= DEDUP_REQUESTS_PER_CLIENT; i++) t.record(1, 100_000 + i, i * 10);
    // 100_000 fell off the front of the ring, and every id below it is forgotten with it.
    expect(t.check(1, 100_000)).toEqual({ kind: "tooOld" });
    expect(t.check(1, 7)).toEqual({ kind: "tooOld" });
    expect(t.check(1, 100_001)).toEqual({ kind: "duplicate", firstOffset: 10 });
  });

  test("recording an id again updates its offset without growing the window", () => {
    const t = new DedupTable();
    t.record(1, 1, 10);
    t.record(1, 1, 11);
    expect(t.check(1, 1)).toEqual({ kind: "duplicate", firstOffset: 11 });
    for (let i = 2; i <= DEDUP_REQUESTS_PER_CLIENT; i++) t.record(1, i, i);
    expect(t.check(1, 1)).toEqual({ kind: "duplicate", firstOffset: 11 });
  });

  test("a request of many entries is one run: every id in it is found at its own offset", () => {
    const t = new DedupTable();
    t.record(4, 10, 500, 5); // ids 10..14 at offsets 500..504
    expect(t.check(4, 10)).toEqual({ kind: "duplicate", firstOffset: 500 });
    expect(t.check(4, 13)).toEqual({ kind: "duplicate", firstOffset: 503 });
    expect(t.check(4, 15)).toEqual({ kind: "new" });
    expect(t.check(4, 9)).toEqual({ kind: "new" });
    t.record(4, 15, 505, 2); // the next request, right after: the run grows
    expect(t.check(4, 16)).toEqual({ kind: "duplicate", firstOffset: 506 });
    t.record(4, 17, 600, 1); // after other clients' entries: a new run
    expect(t.check(4, 17)).toEqual({ kind: "duplicate", firstOffset: 600 });
    expect(t.check(4, 14)).toEqual({ kind: "duplicate", firstOffset: 504 });
  });

  test("a rebuild that records every entry keeps far more than the window's count of requests", () => {
    const t = new DedupTable();
    // 1000 requests of 1000 entries each, written back to back: one run.
    for (let id = 1; id <= 1_000_000; id++) t.record(2, id, 7 + id);
    expect(t.check(2, 1)).toEqual({ kind: "duplicate", firstOffset: 8 });
    expect(t.check(2, 999_001)).toEqual({ kind: "duplicate", firstOffset: 999_008 });
  });

  test("past the client limit the client recorded first is forgotten", () => {
    const t = new DedupTable();
    for (let c = 1; c <= DEDUP_CLIENTS_MAX; c++) t.record(c, 1, c);
    expect(t.check(1, 1)).toEqual({ kind: "duplicate", firstOffset: 1 });
    t.record(DEDUP_CLIENTS_MAX + 1, 1, 0);
    expect(t.check(1, 1)).toEqual({ kind: "new" });
    expect(t.check(2, 1)).toEqual({ kind: "duplicate", firstOffset: 2 });
    expect(t.check(DEDUP_CLIENTS_MAX + 1, 1)).toEqual({ kind: "duplicate", firstOffset: 0 });
  });
});

test("a request recorded below the newest id keeps every id of it, not only the first", () => {
  const t = new DedupTable();
  t.record(1, 10, 100, 2); // ids 10..11
  t.record(1, 15, 102, 6); // ids 15..20, written before the request with ids 12..14
  t.record(1, 12, 200, 3); // ids 12..14, written after a resend
  expect(t.check(1, 12)).toEqual({ kind: "duplicate", firstOffset: 200 });
  expect(t.check(1, 13)).toEqual({ kind: "duplicate", firstOffset: 201 });
  expect(t.check(1, 14)).toEqual({ kind: "duplicate", firstOffset: 202 });
  expect(t.check(1, 16)).toEqual({ kind: "duplicate", firstOffset: 103 });
});
