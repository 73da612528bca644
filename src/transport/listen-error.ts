// Why a listener could not bind, in words an operator can act on. Bun's own message names neither
// the port nor the listener ("Failed to listen at 127.0.0.1"); this one names the config key, the
// listener, the address and the reason, and is a ConfigError, so the process exits 2.

import { ConfigError, formatAddress, type Address } from "../config/index.ts";

export interface ListenerSource {
  /** The config file the address came from. */
  file: string;
  /** Its key there, e.g. "frontend.server_addr". */
  key: string;
  /** What listens, e.g. "client listener". */
  listener: string;
  addr: Address;
}

/** Runs `open` (a Bun.listen or Bun.serve); a failure to bind becomes a ConfigError naming `source`. */
export function listenOrExplain<T>(source: ListenerSource, open: () => T): T {
  try {
    return open();
  } catch (err) {
    throw new ConfigError(source.file, source.key, `the ${source.listener} cannot listen at ${formatAddress(source.addr)}: ${reason(err)}`);
  }
}

function reason(err: unknown): string {
  switch ((err as NodeJS.ErrnoException)?.code) {
    case "EADDRINUSE":
      return "the address is in use (another process listens there); stop that process or choose another port";
    case "EACCES":
      return "permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE); choose a port from 1024 up";
    case "EADDRNOTAVAIL":
      return "no network interface of this machine has that address; use one of its addresses, or 0.0.0.0";
    default:
      return (err as Error)?.message ?? String(err);
  }
}
