// `catena nodes remove ID`: forget a node that is failed or a standby (the admin token, when the
// cluster has tokens). The master refuses a node that still serves or copies a chain.

import { CatenaError, ErrorCode } from "../protocol/errors.ts";
import { fetchOptions } from "../security/http.ts";
import { UsageError, type Parsed } from "./args.ts";
import { clientOptions } from "./common.ts";
import { stdout } from "./output.ts";

export async function runNodes(p: Parsed): Promise<number> {
  const [action, id, extra] = p.positionals;
  if (action !== "remove") throw new UsageError(action === undefined ? "nodes: say what to do: catena nodes remove ID" : `nodes: unknown action "${action}"; see catena nodes --help`);
  if (id === undefined) throw new UsageError("nodes remove: which node? catena nodes remove ID");
  if (extra !== undefined) throw new UsageError(`nodes remove: unexpected argument "${extra}"`);
  const options = clientOptions(p, "nodes");
  const url = `${options.master.replace(/\/$/, "")}/v1/nodes/${encodeURIComponent(id)}`;
  let res: Response;
  try {
    res = await fetch(url, { method: "DELETE", signal: AbortSignal.timeout(5000), ...fetchOptions(options) });
  } catch (e) {
    throw new CatenaError(ErrorCode.unavailable, `cannot reach the master at ${options.master}: ${(e as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new CatenaError(res.status === 401 || res.status === 403 ? ErrorCode.unauthorized : ErrorCode.unavailable, `the master refused: ${body.error ?? `HTTP ${res.status}`}`);
  await stdout.line(`removed node ${id}`);
  return 0;
}
