// `catena cli`: an interactive prompt over the client library.

import { CatenaClient, type Subscription } from "../client/client.ts";
import { CatenaError } from "../protocol/errors.ts";
import type { Parsed } from "./args.ts";
import { clientOptions } from "./common.ts";
import { formatEntries } from "./format.ts";
import { stdout } from "./output.ts";

const HELP = `commands:
  append TEXT        append TEXT as one entry and print its offset
  latest             print the first offset, the commit end and the tail's log end
  read FROM [LIMIT]  print committed entries from offset FROM (default limit 20)
  tail [FROM]        follow new entries (from FROM, default the commit end); "stop" ends it
  stop               stop following
  help               this text
  quit               leave`;

export async function runInteractive(p: Parsed): Promise<number> {
  const client = await CatenaClient.connect(clientOptions(p, "cli"));
  let following: Subscription | null = null;
  await stdout.line(`connected to chain ${client.chainId}; type "help" for commands`);
  await stdout.write("catena> ");
  for await (const raw of console) {
    const line = raw.trim();
    const [cmd, ...rest] = line.split(/\s+/);
    try {
      if (cmd === "quit" || cmd === "exit") break;
      else if (cmd === "" || cmd === undefined) {
        // nothing
      } else if (cmd === "help") await stdout.line(HELP);
      else if (cmd === "append") {
        const text = line.slice(cmd.length).trim();
        if (!text) await stdout.line("usage: append TEXT");
        else await stdout.line(`appended at offset ${await client.append(text)}`);
      } else if (cmd === "latest") {
        const l = await client.latest();
        await stdout.line(`start ${l.startOffset}  commit end ${l.commitEnd}  tail log end ${l.logEnd}`);
      } else if (cmd === "read") {
        const from = Number(rest[0]);
        const limit = rest[1] === undefined ? 20 : Number(rest[1]);
        if (!Number.isSafeInteger(from) || from < 0 || !Number.isSafeInteger(limit) || limit < 1) await stdout.line("usage: read FROM [LIMIT]");
        else {
          const page = await client.read(from, { maxEntries: limit });
          await stdout.write(formatEntries(page.entries, false));
          await stdout.line(`(${page.entries.length} entries; commit end ${page.commitEnd})`);
        }
      } else if (cmd === "tail") {
        following?.close();
        const from = rest[0] === undefined ? (await client.latest()).commitEnd : Number(rest[0]);
        // A person reads this at a terminal: no pausing for a slow reader, as `catena tail` does.
        following = client.subscribe(from, (entries) => stdout.send(formatEntries(entries, false)), (err) => stdout.send(`tail stopped: ${err.message}\n`));
        await stdout.line(`following from offset ${from}; "stop" to end`);
      } else if (cmd === "stop") {
        following?.close();
        following = null;
      } else await stdout.line(`unknown command "${cmd}"; type "help"`);
    } catch (e) {
      await stdout.line(`error: ${e instanceof CatenaError ? e.message : (e as Error).message}`);
    }
    await stdout.write("catena> ");
  }
  following?.close();
  client.close();
  return 0;
}
