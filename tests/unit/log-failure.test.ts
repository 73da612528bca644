// Which log failures a node may recover from in-process (src/node/log-failure.ts): a write refused
// for space left nothing half-done; a failed sync may have lost pages the cache still shows.

import { expect, test } from "bun:test";
import { describeFailure, isSpaceFailure } from "../../src/node/log-failure.ts";

function systemError(code: string, syscall: string): Error {
  return Object.assign(new Error(`${code}: something, ${syscall}`), { code, syscall });
}

test("a write or a new file refused for space is recoverable", () => {
  expect(isSpaceFailure(systemError("ENOSPC", "write"))).toBe(true);
  expect(isSpaceFailure(systemError("EDQUOT", "write"))).toBe(true);
  expect(isSpaceFailure(systemError("ENOSPC", "ftruncate"))).toBe(true);
  expect(isSpaceFailure(systemError("ENOSPC", "open"))).toBe(true);
});

test("a failed sync, an I/O error, or an error without a syscall is not", () => {
  expect(isSpaceFailure(systemError("ENOSPC", "fdatasync"))).toBe(false);
  expect(isSpaceFailure(systemError("ENOSPC", "fsync"))).toBe(false);
  expect(isSpaceFailure(systemError("EIO", "write"))).toBe(false);
  expect(isSpaceFailure(Object.assign(new Error("no space"), { code: "ENOSPC" }))).toBe(false);
  expect(isSpaceFailure(new Error("something else"))).toBe(false);
});

test("the report says what the node does next", () => {
  expect(describeFailure(1, systemError("ENOSPC", "write"), "/data", 1000)).toMatchObject({ chainId: 1, code: "ENOSPC", next: expect.stringContaining("checks every 1000 ms for free space in /data") });
  expect(describeFailure(1, systemError("EIO", "fdatasync"), "/data", 1000).next).toStartWith("exiting");
});
