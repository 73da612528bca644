// Output: waits while the stream is full, and turns EPIPE into a quiet ReaderGone.

import { expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { Output, ReaderGone } from "../../src/cli/output.ts";

/** A stream that takes writes until told it is full. */
class FakeStream extends EventEmitter {
  written: string[] = [];
  full = false;
  write(data: string | Uint8Array): boolean {
    this.written.push(String(data));
    return !this.full;
  }
}

const settled = (p: Promise<unknown>) => Promise.race([p.then(() => "resolved", () => "rejected"), Bun.sleep(10).then(() => "pending")]);

test("a write into a full stream waits for drain; drained() waits for the same", async () => {
  const stream = new FakeStream();
  const out = new Output(stream);
  await out.line("one");
  stream.full = true;
  const second = out.line("two");
  expect(await settled(second)).toBe("pending");
  expect(await settled(out.drained())).toBe("pending");
  stream.full = false;
  stream.emit("drain");
  expect(await settled(second)).toBe("resolved");
  expect(await settled(out.drained())).toBe("resolved");
  expect(stream.written).toEqual(["one\n", "two\n"]);
});

test("EPIPE: waiting writes reject with ReaderGone, later ones too, and broken() says so", async () => {
  const stream = new FakeStream();
  const out = new Output(stream);
  stream.full = true;
  const waiting = out.line("x");
  stream.emit("error", Object.assign(new Error("EPIPE: broken pipe, write"), { code: "EPIPE" }));
  await expect(waiting).rejects.toBeInstanceOf(ReaderGone);
  await expect(out.line("y")).rejects.toBeInstanceOf(ReaderGone);
  expect(await out.broken()).toBeInstanceOf(ReaderGone);
  expect(out.send("z")).toBe(false);
  expect(stream.written).toEqual(["x\n"]);
});

test("another write error is a failure that names stdout", async () => {
  const stream = new FakeStream();
  const out = new Output(stream);
  stream.emit("error", Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" }));
  await expect(out.line("x")).rejects.toThrow("cannot write to stdout: ENOSPC: no space left on device");
});
