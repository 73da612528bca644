import { expect, test } from "bun:test";
import fc from "fast-check";
import { RequestTable } from "../../src/client/request-table.ts";

type Op = { kind: "add"; gap: number } | { kind: "delete"; pick: number } | { kind: "get"; pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("add" as const), gap: fc.nat(3) }),
  fc.record({ kind: fc.constant("delete" as const), pick: fc.nat(1000) }),
  fc.record({ kind: fc.constant("get" as const), pick: fc.nat(1000) }),
);

function check(table: RequestTable<string>, model: Map<number, string>, ids: number[]): void {
  expect(table.size).toBe(model.size);
  for (const id of ids) expect(table.get(id)).toBe(model.get(id));
  expect([...table.values()].sort()).toEqual([...model.values()].sort());
}

test("the request table answers like a Map for ids added in increasing order, deleted in any order", () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), fc.nat(1000), (ops, start) => {
      const table = new RequestTable<string>();
      const model = new Map<number, string>();
      const ids: number[] = [];
      let next = start;
      for (const o of ops) {
        if (o.kind === "add") {
          next += o.gap;
          table.set(next, `v${next}`);
          model.set(next, `v${next}`);
          ids.push(next);
          next++;
        } else if (ids.length > 0) {
          const id = ids[o.pick % ids.length] + (o.pick % 3) - 1; // sometimes an id never added
          if (o.kind === "delete") {
            table.delete(id);
            model.delete(id);
          } else expect(table.get(id)).toBe(model.get(id));
        }
      }
      check(table, model, [...ids, start - 1, next, next + 5]);
      table.clear();
      expect(table.size).toBe(0);
      expect([...table.values()]).toEqual([]);
    }),
  );
});

test("an id left unanswered while more newer ones come and go than the window holds is still found", () => {
  const table = new RequestTable<number>();
  table.set(10, 10);
  for (let id = 11; id < 200_000; id++) {
    table.set(id, id);
    if (id % 100 !== 0) table.delete(id); // most answered at once, every hundredth left waiting
  }
  expect(table.get(10)).toBe(10);
  expect(table.get(100)).toBe(100);
  expect(table.get(101)).toBeUndefined();
  expect(table.size).toBe(1 + 1999);
  const waiting = [10, ...Array.from({ length: 1999 }, (_, k) => (k + 1) * 100)];
  expect([...table.values()]).toEqual(waiting); // stragglers first, then the window: by id here
  table.delete(10);
  expect(table.has(10)).toBe(false);
  for (let id = 100; id < 200_000; id += 100) table.delete(id);
  expect(table.size).toBe(0);
  // Empty again: the next id starts a fresh window.
  table.set(300_000, 1);
  expect(table.get(300_000)).toBe(1);
  expect(table.size).toBe(1);
});

test("adding an id below the last one added is a bug, refused", () => {
  const table = new RequestTable<number>();
  table.set(5, 5);
  expect(() => table.set(4, 4)).toThrow(/added after 5/);
});

test("answered ids pushed out of the window by a burst of new ones leave nothing behind", () => {
  const table = new RequestTable<number>();
  table.set(0, 0); // unanswered
  for (let id = 1; id < 65_536; id++) {
    table.set(id, id);
    table.delete(id);
  }
  // A burst with no answers in between pushes out id 0, then the answered ids after it.
  for (let id = 65_536; id < 65_546; id++) table.set(id, id);
  expect([...table.values()]).toEqual([0, ...Array.from({ length: 10 }, (_, k) => 65_536 + k)]);
  expect(table.size).toBe(11);
  expect(table.get(1)).toBeUndefined();
  expect(table.get(0)).toBe(0);
});
