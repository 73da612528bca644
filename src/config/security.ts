// The [tls] and [auth] tables shared by the master's and the nodes' config files. Files are read
// and checked at load time, so a wrong path, a key that does not match its certificate, or a
// certificate that does not name this node is a config error naming the key, not a failed
// handshake later. docs/security.md explains what each one protects against.

import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolvePath } from "./file.ts";
import type { SectionReader } from "./schema.ts";

/** PEM text of this process's certificate and key, and of the CA every peer's certificate must chain to. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** Null only on the master, which does not check client certificates. */
  readonly ca: string | null;
}

/** Bearer tokens. Null: not configured, so not required. */
export interface AuthTokens {
  /** Clients: the client port's HELLO and the read-only HTTP endpoints. */
  readonly client: string | null;
  /** Nodes: joining and heartbeating at the master, and the replication port's HELLO. */
  readonly node: string | null;
  /** Operators: every HTTP endpoint, including the ones that change state. */
  readonly admin: string | null;
}

export const TLS_KEYS = ["cert_file", "key_file", "ca_file"] as const;
export const AUTH_KEYS = ["client_token_file", "node_token_file", "admin_token_file"] as const;

export const TOKEN_CHARS_MIN = 16;
const TOKEN_CHARS_MAX = 4096;
const TOKEN_PATTERN = /^[\x21-\x7e]+$/;

function readFileKey(section: SectionReader, name: string): string | null {
  const text = section.readString(name);
  if (text === undefined) return null;
  if (text === "") section.fail(name, "must not be empty");
  try {
    return readFileSync(resolvePath(text), "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    return section.fail(name, `cannot read ${JSON.stringify(text)}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message}`);
  }
}

/**
 * `[tls]`: all of cert_file, key_file (and ca_file where `caRequired`) or none. `name`, when
 * given, must be one of the certificate's names: a node's certificate names its node id.
 */
export function readTls(section: SectionReader, opts: { caRequired: boolean; name?: string }): TlsMaterial | null {
  const present = TLS_KEYS.filter((k) => section.has(k));
  if (present.length === 0) return null;
  const needed = opts.caRequired ? TLS_KEYS : (["cert_file", "key_file"] as const);
  const missing = needed.find((k) => !section.has(k));
  if (missing) section.fail(missing, `required when [${section.name}] sets ${present.map((k) => section.key(k)).join(" and ")} (TLS needs ${needed.map((k) => section.key(k)).join(", ")})`);
  const cert = readFileKey(section, "cert_file")!;
  const key = readFileKey(section, "key_file")!;
  const ca = readFileKey(section, "ca_file");
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    return section.fail("cert_file", `not a PEM certificate: ${(e as Error).message}`);
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key))) section.fail("key_file", `the key does not belong to the certificate in ${section.key("cert_file")}`);
  } catch (e) {
    section.fail("key_file", `not a PEM private key: ${(e as Error).message}`);
  }
  if (Date.parse(x509.validTo) < Date.now()) section.fail("cert_file", `the certificate expired on ${x509.validTo}`);
  if (ca !== null) {
    let authority: X509Certificate;
    try {
      authority = new X509Certificate(ca);
    } catch (e) {
      return section.fail("ca_file", `not a PEM certificate: ${(e as Error).message}`);
    }
    if (!x509.verify(authority.publicKey)) section.fail("cert_file", `the certificate is not signed by the CA in ${section.key("ca_file")}`);
  }
  if (opts.name !== undefined && !certificateNames(x509).includes(opts.name)) {
    section.fail("cert_file", `the certificate does not name this node: its names are ${certificateNames(x509).join(", ") || "none"}, and it needs ${JSON.stringify(opts.name)} as a DNS name in subjectAltName (or as its CN)`);
  }
  return { cert, key, ca };
}

/** The DNS names in a certificate's subjectAltName, and its common name. */
export function certificateNames(x509: X509Certificate): string[] {
  return namesOf(x509.subjectAltName, /(?:^|\n)CN=([^\n]+)/.exec(x509.subject)?.[1]);
}

/** The DNS names in a subjectAltName text ("DNS:a, IP Address:…"), then the CN if there is one. */
export function namesOf(subjectAltName: string | undefined, cn: string | undefined): string[] {
  const names: string[] = [];
  for (const part of (subjectAltName ?? "").split(",")) {
    const m = /^\s*DNS:(.+)$/.exec(part);
    if (m) names.push(m[1].trim());
  }
  if (typeof cn === "string") names.push(cn.trim());
  return names;
}

export function readToken(section: SectionReader, name: string): string | null {
  const text = readFileKey(section, name);
  if (text === null) return null;
  const token = text.trim();
  if (token.length < TOKEN_CHARS_MIN || token.length > TOKEN_CHARS_MAX || !TOKEN_PATTERN.test(token)) {
    section.fail(name, `the file must hold one token of ${TOKEN_CHARS_MIN} to ${TOKEN_CHARS_MAX} printable characters without spaces (e.g. \`openssl rand -hex 32\`)`);
  }
  return token;
}

export function readAuth(section: SectionReader, keys: readonly (typeof AUTH_KEYS)[number][]): AuthTokens {
  const read = (k: (typeof AUTH_KEYS)[number]) => (keys.includes(k) ? readToken(section, k) : null);
  return { client: read("client_token_file"), node: read("node_token_file"), admin: read("admin_token_file") };
}
