// Error codes carried by ERROR frames, and the typed error both sides use for them.

export const ErrorCode = {
  badFrame: 1,
  unsupportedVersion: 2,
  unknownFrameType: 3,
  frameTooLarge: 4,
  notHead: 5,
  notServing: 6,
  offsetOutOfRange: 7,
  appendTooLarge: 8,
  unknownChain: 9,
  staleEpoch: 10,
  unavailable: 11,
  diverged: 12,
  requestTooOld: 13,
  overloaded: 14,
  internal: 15,
  unauthorized: 16,
  timedOut: 17,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

export function errorCodeName(code: number): string {
  return NAMES.get(code) ?? `error${code}`;
}

/** An error reported by a peer, or a malformed message. `rangeStart`/`rangeEnd` carry the valid
 * offsets for offsetOutOfRange. */
export class CatenaError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly rangeStart = 0,
    readonly rangeEnd = 0,
  ) {
    super(message);
    this.name = errorCodeName(code);
  }
}
