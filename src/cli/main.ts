// catena: one executable, every role. The only place that reads argv or ends the process.

import { ConfigError } from "../config/index.ts";
import { UsageError, parseArgs, type FlagSpec, type Parsed } from "./args.ts";
import { runAppend, runLatest, runRead, runTail } from "./data.ts";
import { runBench } from "./bench.ts";
import { runDemo } from "./demo.ts";
import { runInteractive } from "./interactive.ts";
import { ReaderGone, stdout } from "./output.ts";
import { runMaster, runNode } from "./servers.ts";
import { runNodes } from "./nodes.ts";
import { runStatus } from "./status.ts";
import { runTui } from "./tui.ts";

interface Command {
  summary: string;
  usage: string;
  flags: FlagSpec;
  run(p: Parsed): Promise<number>;
}

const MASTER_FLAG = [
  "  --master URL      the master's HTTP address (default: $CATENA_MASTER, else config/master.toml)",
  "  --token-file FILE the client (or admin) token, when the cluster needs one (default: $CATENA_TOKEN_FILE)",
  "  --ca-file FILE    the cluster CA, when it uses TLS (default: $CATENA_CA_FILE; --master then starts https://)",
].join("\n");

const JSON_SHAPE = `  {"offset":N,"payload":"TEXT"}\n  {"offset":N,"payloadBase64":"BASE64"}   (for a payload that is not valid UTF-8)`;

const COMMANDS: Record<string, Command> = {
  master: {
    summary: "run the master (membership, epochs, the cluster API)",
    usage: "catena master --config FILE [--log-level LEVEL]\n\n  --config FILE     master config (TOML), e.g. config/master.toml\n  --log-level LEVEL debug | info | warn | error (default: $CATENA_LOG_LEVEL, else info)\n\nLogs go to stderr: JSON lines, or short readable lines on a terminal.",
    flags: { values: ["config", "log-level"] },
    run: runMaster,
  },
  node: {
    summary: "run a storage node",
    usage: "catena node --config FILE [--log-level LEVEL]\n\n  --config FILE     node config (TOML), e.g. config/head.toml\n  --log-level LEVEL debug | info | warn | error (default: $CATENA_LOG_LEVEL, else info)\n\nLogs go to stderr: JSON lines, or short readable lines on a terminal.",
    flags: { values: ["config", "log-level"] },
    run: runNode,
  },
  append: {
    summary: "append entries (arguments, or one per line of stdin)",
    usage: `catena append [--json] [PAYLOAD...]

With no PAYLOAD, appends each line of stdin as one entry: the bytes between two newlines, exactly
as they are (a \\r before the newline stays). Prints one line per acknowledged entry, in input
order, as soon as it is acknowledged: "OFFSET<tab>PAYLOAD", or with --json one of
${JSON_SHAPE}

When the head refuses a line (too large for its limits), append stops there: it prints the
acknowledgements of the lines before it, then one error line naming the refused line's number,
and exits 1. No line after it was sent: fix that line, then send the input from that line on
again (tail -n +N FILE | catena append), and nothing is written twice.

  --json            print JSON lines
${MASTER_FLAG}`,
    flags: { values: ["master", "token-file", "ca-file"], booleans: ["json"] },
    run: runAppend,
  },
  read: {
    summary: "print committed entries from an offset",
    usage: `catena read --from N [--limit K] [--json]\n\nPrints "OFFSET<tab>PAYLOAD" per entry, the payload's bytes as they are, or with --json one of\n${JSON_SHAPE}\n\n  --from N          first offset to print\n  --limit K         print at most K entries (default: all committed)\n  --json            print JSON lines\n${MASTER_FLAG}`,
    flags: { values: ["master", "token-file", "ca-file", "from", "limit"], booleans: ["json"] },
    run: runRead,
  },
  tail: {
    summary: "follow new entries until Ctrl-C",
    usage: `catena tail [--from N] [--json]\n\nPrints entries as catena read does. When stdout is a pipe that is not read, tail waits for it\n(a slow reader misses nothing); when its reader has gone, tail ends at its next entry.\n\n  --from N          start at offset N (default: the commit end)\n  --json            print JSON lines\n${MASTER_FLAG}`,
    flags: { values: ["master", "token-file", "ca-file", "from"], booleans: ["json"] },
    run: runTail,
  },
  latest: {
    summary: "print the first offset, the commit end and the tail's log end",
    usage: `catena latest [--json]\n\n  --json            print JSON\n${MASTER_FLAG}`,
    flags: { values: ["master", "token-file", "ca-file"], booleans: ["json"] },
    run: runLatest,
  },
  status: {
    summary: "show the chains and nodes as the master sees them",
    usage: `catena status [--json]\n\n  --json            print the master's /v1/cluster document\n${MASTER_FLAG}`,
    flags: { values: ["master", "token-file", "ca-file"], booleans: ["json"] },
    run: runStatus,
  },
  nodes: {
    summary: "manage the master's list of nodes: remove one that is failed or a standby",
    usage: `catena nodes remove ID\n\nForgets node ID. Only a failed or standby node can be removed: one that serves or copies a\nchain is refused. A node still running joins again as a standby; stop it first. Needs the\nadmin token when the cluster has tokens.\n\n${MASTER_FLAG}`,
    flags: { values: ["master", "token-file", "ca-file"] },
    run: runNodes,
  },
  tui: {
    summary: "watch the chains live in a terminal UI",
    usage: `catena tui\n\nShows each chain head -> tail with every node's role, state, log end, commit end, lag,\nappend rate and heartbeat, and the master's events. Keys: q quit, up/down select a node,\nenter details, p pause.\n\n${MASTER_FLAG}`,
    flags: { values: ["master", "token-file", "ca-file"] },
    run: runTui,
  },
  cli: {
    summary: "an interactive prompt: append, latest, read, tail, help, quit",
    usage: `catena cli\n\n${MASTER_FLAG}`,
    flags: { values: ["master", "token-file", "ca-file"] },
    run: runInteractive,
  },
  bench: {
    summary: "measure append throughput and latency",
    usage: `catena bench [--master URL | --local] -c CLIENTS -r INFLIGHT --size BYTES --duration S [--warmup S] [--mode MODE] [--json]

  -c, --clients N   concurrent clients, each with its own connections (default 1)
  -r, --inflight N  appends each client keeps in flight (default 1)
  --size BYTES      payload size (default 100)
  --duration S      measured seconds (default 10)
  --warmup S        unmeasured seconds first (default 2)
  --local           start a master and 3 nodes in a temporary directory, remove them after
  --sync POLICY     with --local: always | interval | none (default always)
  --secure DIR      with --local: TLS everywhere and tokens, certificates and tokens from DIR
                    (made by scripts/dev-certs.sh DIR master head middle tail)
  --mode MODE       append (default) | read (point reads at random offsets) | mixed (half of
                    each client's slots read) | subscribe (each client subscribes; one more
                    client appends; latency is append sent -> delivered)
  --json            print one JSON object
${MASTER_FLAG}`,
    flags: { values: ["master", "token-file", "ca-file", "clients", "inflight", "size", "duration", "warmup", "sync", "mode", "secure"], booleans: ["local", "json"], aliases: { c: "clients", r: "inflight" } },
    run: runBench,
  },
  demo: {
    summary: "start a master and three nodes on this machine",
    usage: "catena demo [--dir DIR] [--no-tui]\n\n  --dir DIR         keep data and logs in DIR (default: a temporary directory, removed at exit)\n  --no-tui          print status lines instead of the terminal UI",
    flags: { values: ["dir"], booleans: ["no-tui"] },
    run: runDemo,
  },
};

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const list = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`).join("\n");
  return `catena — chain replication: a replicated, durable, linearizable log

usage: catena <command> [options]

commands:
${list}

"catena <command> --help" describes a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    await stdout.line(mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "version") {
    await stdout.line("catena 0.1.0");
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command "${name}"; see catena --help`);
  const parsed = parseArgs(rest, command.flags, name);
  if (parsed.flags.get("help")) {
    await stdout.line(`usage: ${command.usage}`);
    return 0;
  }
  if (!["append", "nodes", "cli"].includes(name) && parsed.positionals.length > 0) {
    throw new UsageError(`${name}: unexpected argument "${parsed.positionals[0]}"; see catena ${name} --help`);
  }
  return command.run(parsed);
}

/** Prints why the command failed, on stderr; returns the exit status. A reader of stdout that has
 * gone is no failure: whoever piped us into `head` has what they wanted. */
function reportFailure(e: unknown): number {
  if (e instanceof ReaderGone) return 0;
  if (e instanceof UsageError || e instanceof ConfigError) {
    console.error(`catena: ${e.message}`);
    return 2;
  }
  console.error(`catena: ${(e as Error)?.message ?? String(e)}`);
  return 1;
}

let status: number;
try {
  status = await main(process.argv.slice(2));
} catch (e) {
  status = reportFailure(e);
}
// process.exit drops what stdout still holds for a slow reader: wait until it has all gone out.
try {
  await stdout.drained();
} catch (e) {
  status = Math.max(status, reportFailure(e));
}
// Servers and followers return only when told to stop; leave nothing running behind.
process.exit(status);
