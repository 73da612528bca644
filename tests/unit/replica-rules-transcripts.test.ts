// A replica's rules (src/chain/replica-rules.ts, src/chain/handshake.ts) as transcripts:
// src/chain/testdata/replica/*.txt.
//
// Commands:
//   place NODE members=(a,b,c) [syncing=d]
//   handshake ours=(ENTRIES) successor=(ENTRIES) commit=N [syncing] [may-lose]
//       entries are words, one per offset; equal words have equal CRCs. `commit` is the
//       successor's recorded commit end.
//   upstream node=b epoch=E predecessor=a from=NODE hello-epoch=E
//   batch chain=C epoch=E log-end=N batch-chain=C batch-epoch=E first=N
//   truncate at=N committed=N role=ROLE
//   serve role=ROLE [lease] [durable-seen] commit=N floor=N recorded=N

import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { decideHandshake } from "../../src/chain/handshake.ts";
import { batchRefusal, placeInLayout, servingRefusal, truncateDecision, upstreamRefusal, type Role } from "../../src/chain/replica-rules.ts";
import { crc32c } from "../../src/protocol/crc32c.ts";
import { CatenaError } from "../../src/protocol/errors.ts";
import { listValue, parseCommand, runTranscript, type Command } from "../helpers/transcript.ts";

const DIR = join(import.meta.dir, "../../src/chain/testdata/replica");

const crcOf = (word: string) => crc32c(new TextEncoder().encode(word));
const num = (cmd: Command, key: string) => {
  const v = cmd.values.get(key);
  if (v === undefined || !/^\d+$/.test(v)) throw new Error(`${cmd.verb} needs ${key}=N`);
  return Number(v);
};
const refusal = (e: CatenaError | null) => (e ? `refused ${e.name}: ${e.message}` : "accepted");

function run(line: string): string[] {
  const cmd = parseCommand(line);
  switch (cmd.verb) {
    case "place": {
      const p = placeInLayout(cmd.words[0], listValue(cmd.values.get("members")), cmd.values.get("syncing") ?? null);
      return [`role=${p.role} predecessor=${p.predecessorId ?? "-"} successor=${p.successorId ?? "-"}${p.successorSyncing ? " (syncing)" : ""}`];
    }
    case "handshake": {
      const ours = listValue(cmd.values.get("ours"));
      const theirs = listValue(cmd.values.get("successor"));
      const commit = num(cmd, "commit");
      const d = decideHandshake(
        { logEnd: theirs.length, lastCrc: theirs.length > 0 ? crcOf(theirs[theirs.length - 1]) : 0, commitEnd: commit, commitCrc: commit > 0 ? crcOf(theirs[commit - 1]) : 0 },
        { logEnd: ours.length, crcAt: (o) => (o >= 0 && o < ours.length ? crcOf(ours[o]) : null) },
        { successorSyncing: cmd.flags.has("syncing"), mayLoseCommitted: cmd.flags.has("may-lose") },
      );
      return [d.kind === "stream" ? `stream from ${d.from}` : d.kind === "truncate" ? `truncate to ${d.to}: ${d.why}` : `${d.kind}: ${d.why}`];
    }
    case "upstream":
      return [refusal(upstreamRefusal(cmd.values.get("node")!, num(cmd, "epoch"), cmd.values.get("predecessor") ?? null, { epoch: num(cmd, "hello-epoch"), nodeId: cmd.values.get("from")! }))];
    case "batch":
      return [refusal(batchRefusal(num(cmd, "chain"), num(cmd, "epoch"), num(cmd, "log-end"), { chainId: num(cmd, "batch-chain"), epoch: num(cmd, "batch-epoch"), firstOffset: num(cmd, "first") }))];
    case "truncate": {
      const d = truncateDecision(num(cmd, "at"), num(cmd, "committed"), cmd.values.get("role") as Role);
      return [d.kind === "refuse" ? refusal(d.error) : `truncate${d.lowerCommitTo !== null ? `, and lower the recorded commit end to ${d.lowerCommitTo}` : ""}`];
    }
    case "serve":
      return [
        refusal(
          servingRefusal({
            nodeId: "n",
            chainId: 1,
            role: cmd.values.get("role") as Role,
            hasLease: cmd.flags.has("lease"),
            durableSeen: cmd.flags.has("durable-seen"),
            commitEnd: num(cmd, "commit"),
            commitFloor: num(cmd, "floor"),
            recordedCommit: num(cmd, "recorded"),
          }),
        ),
      ];
    default:
      throw new Error(`unknown command "${cmd.verb}"`);
  }
}

for (const name of readdirSync(DIR).filter((f) => f.endsWith(".txt")).sort()) {
  test(`replica transcript ${name}`, () => {
    const mismatches = runTranscript(join(DIR, name), run);
    const report = mismatches.map((m) => `${m.command}\n---- expected\n${m.expected.join("\n")}\n---- actual\n${m.actual.join("\n")}`).join("\n\n");
    expect(report).toBe("");
  });
}
