// Token checks in constant time: both sides are hashed first, so neither the length nor the
// position of the first differing byte shows in how long a comparison takes.

import { createHash, timingSafeEqual } from "node:crypto";

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** A checker for one or more accepted tokens; with none configured, everything passes. */
export class TokenCheck {
  private readonly digests: Buffer[];

  constructor(tokens: readonly (string | null | undefined)[]) {
    this.digests = tokens.filter((t): t is string => typeof t === "string").map(digest);
  }

  /** No token is configured: nothing to check. */
  get open(): boolean {
    return this.digests.length === 0;
  }

  accepts(given: string | null | undefined): boolean {
    if (this.open) return true;
    const d = digest(given ?? "");
    let ok = false;
    // Every configured token is compared, whichever matches.
    for (const want of this.digests) ok = timingSafeEqual(d, want) || ok;
    return ok && typeof given === "string" && given.length > 0;
  }
}

/** The token in an `Authorization: Bearer …` header, or null. */
export function bearerToken(header: string | null | undefined): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return m ? m[1] : null;
}
