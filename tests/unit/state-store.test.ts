// One suite that every StateStore passes: the file store (the default) and the memory store.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MasterState } from "../../src/chain/control.ts";
import { StateFile } from "../../src/master/state.ts";
import { MemoryStateStore, type StateStore } from "../../src/master/state-store.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const stores: [string, () => { open(): StateStore }][] = [
  [
    "file",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "catena-store-"));
      dirs.push(dir);
      return { open: () => new StateFile(dir) };
    },
  ],
  [
    "memory",
    () => {
      const store = new MemoryStateStore();
      return { open: () => store };
    },
  ],
];

const sample: MasterState = {
  version: 1,
  chains: [{ chainId: 1, epoch: 7, members: ["a", "b"], syncing: "c", commitFloor: 42 }],
  nodes: ["a", "b", "c"].map((id, i) => ({ id, clientAddr: `127.0.0.1:${7000 + i}`, replicationAddr: `127.0.0.1:${7100 + i}`, adminAddr: `127.0.0.1:${7200 + i}` })),
};

for (const [name, make] of stores) {
  describe(`StateStore: ${name}`, () => {
    test("a new store holds one empty chain at epoch 0", () => {
      expect(make().open().load()).toEqual({ version: 1, chains: [{ chainId: 1, epoch: 0, members: [], syncing: null }], nodes: [] });
    });

    test("what was saved is what a reopened store loads; the last save wins", () => {
      const place = make();
      place.open().save({ ...sample, chains: [{ ...sample.chains[0], epoch: 3 }] });
      place.open().save(sample);
      expect(place.open().load()).toEqual(sample);
    });

    test("a loaded state is a copy: changing it changes nothing saved", () => {
      const place = make();
      place.open().save(sample);
      const loaded = place.open().load();
      loaded.chains[0].epoch = 99;
      expect(place.open().load().chains[0].epoch).toBe(7);
    });

    test("it names where the state lives", () => {
      expect(make().open().where).toMatch(/master-state\.json$|^memory$/);
    });
  });
}
