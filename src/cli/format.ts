// How the CLI prints entries. A payload is bytes: plain output prints them as they are; JSON gives
// a payload that is valid UTF-8 as text ("payload") and any other in base64 ("payloadBase64").

import type { Entry } from "../client/client.ts";

/** fatal: invalid UTF-8 throws instead of becoming U+FFFD; ignoreBOM: a leading BOM is kept. */
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();
const NEWLINE = new Uint8Array([0x0a]);

/** The payload as text, or null when it is not valid UTF-8. */
function utf8Text(payload: Uint8Array): string | null {
  try {
    return utf8.decode(payload);
  } catch {
    return null;
  }
}

/** {"offset":N,"payload":"..."} for a UTF-8 payload, else {"offset":N,"payloadBase64":"..."}. */
export function entryJson(e: Entry): string {
  const text = utf8Text(e.payload);
  if (text !== null) return JSON.stringify({ offset: e.offset, payload: text });
  return JSON.stringify({ offset: e.offset, payloadBase64: Buffer.from(e.payload.buffer, e.payload.byteOffset, e.payload.length).toString("base64") });
}

/** One line per entry: "OFFSET<tab>PAYLOAD" with the payload's own bytes, or with json entryJson. */
export function formatEntries(entries: Entry[], json: boolean): Uint8Array {
  if (json) return encoder.encode(entries.map((e) => entryJson(e) + "\n").join(""));
  return Buffer.concat(entries.flatMap((e) => [encoder.encode(`${e.offset}\t`), e.payload, NEWLINE]));
}
