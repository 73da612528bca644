/** A TCP endpoint as written in config files and on the command line: "host:port". */
export interface Address {
  readonly host: string;
  readonly port: number;
}

export interface ParseAddressOptions {
  /** Port 0 asks the OS for a free port: right for a listen address, wrong for a peer's. */
  allowPortZero?: boolean;
}

const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$/;
const IPV6 = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/;

/** Parses "host:port" or "[ipv6]:port". Returns the address, or a problem to show a person. */
export function parseAddress(text: string, options: ParseAddressOptions = {}): Address | string {
  const colon = text.lastIndexOf(":");
  if (colon < 0) return `must be "host:port", got ${JSON.stringify(text)}`;
  let host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (host.startsWith("[") && host.endsWith("]")) {
    host = host.slice(1, -1);
    if (!IPV6.test(host) || !host.includes(":")) return `bad IPv6 host in ${JSON.stringify(text)}`;
  } else if (host.includes(":")) {
    return `an IPv6 host must be in brackets, as "[::1]:7100", got ${JSON.stringify(text)}`;
  } else if (!HOSTNAME.test(host)) {
    return `bad host in ${JSON.stringify(text)}: expected a hostname or IP address`;
  }
  if (!/^[0-9]{1,5}$/.test(portText)) return `bad port in ${JSON.stringify(text)}: expected a number`;
  const port = Number(portText);
  const portMin = options.allowPortZero ? 0 : 1;
  if (port < portMin || port > 65535) {
    return `port must be ${portMin}..65535, got ${JSON.stringify(text)}`;
  }
  return { host, port };
}

export function formatAddress(a: Address): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** The address a client dials to reach a listener bound to `a` (wildcards become loopback). */
export function dialableAddress(a: Address): Address {
  if (a.host === "0.0.0.0") return { host: "127.0.0.1", port: a.port };
  if (a.host === "::") return { host: "::1", port: a.port };
  return a;
}
