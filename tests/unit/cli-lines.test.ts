// splitLines: stdin bytes into lines for `catena append`, whatever the chunks.

import { expect, test } from "bun:test";
import { splitLines } from "../../src/cli/append-lines.ts";

async function linesOf(chunks: Uint8Array[]): Promise<number[][]> {
  async function* source() {
    yield* chunks;
  }
  const out: number[][] = [];
  for await (const lines of splitLines(source())) out.push(...lines.map((l) => [...l]));
  return out;
}

const input = Buffer.from([0x61, 0x0d, 0x0a, 0x0a, 0xff, 0xfe, 0x0a, 0x62, 0x63]); // "a\r\n\n" ff fe "\n" "bc"
const expected = [[0x61, 0x0d], [], [0xff, 0xfe], [0x62, 0x63]];

test("splits on \\n only, keeps every other byte, and takes the bytes after the last \\n as a line", async () => {
  expect(await linesOf([input])).toEqual(expected);
});

test("the same lines at every split point and one byte at a time", async () => {
  for (let at = 0; at <= input.length; at++) expect(await linesOf([input.subarray(0, at), input.subarray(at)])).toEqual(expected);
  expect(await linesOf([...input].map((b) => Uint8Array.of(b)))).toEqual(expected);
});

test("a final newline ends the last line; no input, no lines", async () => {
  expect(await linesOf([Buffer.from("x\n")])).toEqual([[0x78]]);
  expect(await linesOf([])).toEqual([]);
});
