// Tokens and TLS for the HTTP APIs: a Hono middleware on the serving side, and the fetch options
// (bearer header, CA to trust, client certificate) on the calling side.

import type { MiddlewareHandler } from "hono";
import { TokenCheck, bearerToken } from "./token.ts";

/** What a caller presents to the master's or a node's HTTP API. */
export interface HttpCredentials {
  token?: string | null;
  /** PEM of the CA that signed the server's certificate (https). */
  ca?: string | null;
}

/** Options to spread into fetch(): the bearer token and the CA to trust. */
export function fetchOptions(cred: HttpCredentials | undefined, headers: Record<string, string> = {}): { headers: Record<string, string>; tls?: { ca: string } } {
  const all = cred?.token ? { ...headers, authorization: `Bearer ${cred.token}` } : headers;
  return cred?.ca ? { headers: all, tls: { ca: cred.ca } } : { headers: all };
}

/** Refuses, with 401 and a JSON error, a request whose bearer token `check` does not accept. */
export function requireToken(check: TokenCheck, what: string): MiddlewareHandler {
  return async (c, next) => {
    if (check.open) return next();
    const given = bearerToken(c.req.header("authorization"));
    if (!check.accepts(given)) {
      c.header("www-authenticate", 'Bearer realm="catena"');
      return c.json({ error: given === null ? `${what} needs a bearer token (Authorization: Bearer …)` : `the bearer token is not valid for ${what}` }, 401);
    }
    return next();
  };
}

export { TokenCheck };

/**
 * For endpoints that change state: only the admin token. A cluster that has other tokens but no
 * admin token refuses them to everyone (403); a cluster with no tokens at all leaves them open.
 */
export function requireAdmin(auth: { client: string | null; node: string | null; admin: string | null }, what: string): MiddlewareHandler {
  if (auth.admin) return requireToken(new TokenCheck([auth.admin]), what);
  if (!auth.client && !auth.node) return (_c, next) => next();
  return async (c) => c.json({ error: `${what} needs the admin token, and none is configured (auth.admin_token_file)` }, 403);
}
