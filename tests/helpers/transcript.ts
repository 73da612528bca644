// Transcript tests, after etcd-io/raft's testdata: a text file of commands, each followed by
// "----" and the exact output it must give, blocks separated by blank lines, "#" lines saying
// what the scenario shows. Run with CATENA_REWRITE=1 to write the actual output into the file
// when behaviour changes on purpose; then read the diff.

import { readFileSync, writeFileSync } from "node:fs";

export interface Block {
  /** Comment lines before the command, kept as written. */
  comments: string[];
  command: string;
  expected: string[];
}

export function parseTranscript(text: string, file: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split("\n");
  let comments: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith("#") || line.trim() === "") {
      if (line.startsWith("#")) comments.push(line);
      else if (comments.length > 0) comments.push("");
      continue;
    }
    if (lines[i + 1] !== "----") throw new Error(`${file}:${i + 2}: expected "----" after the command "${line}"`);
    const expected: string[] = [];
    i += 2;
    while (i < lines.length && lines[i] !== "") expected.push(lines[i++]);
    while (comments.at(-1) === "") comments.pop();
    blocks.push({ comments, command: line, expected });
    comments = [];
  }
  return blocks;
}

export function formatTranscript(blocks: { comments: string[]; command: string; actual: string[] }[]): string {
  return blocks.map((b) => [...b.comments, b.command, "----", ...b.actual].join("\n")).join("\n\n") + "\n";
}

/** A command line: `verb subject key=value key=(a,b) flag`. */
export interface Command {
  verb: string;
  words: string[];
  values: Map<string, string>;
  flags: Set<string>;
}

export function parseCommand(line: string): Command {
  const [verb, ...rest] = line.trim().split(/\s+/);
  const cmd: Command = { verb, words: [], values: new Map(), flags: new Set() };
  rest.forEach((token, i) => {
    const eq = token.indexOf("=");
    if (eq > 0) cmd.values.set(token.slice(0, eq), token.slice(eq + 1));
    else if (i === 0) cmd.words.push(token); // the subject: a node id, a duration
    else cmd.flags.add(token);
  });
  return cmd;
}

export function listValue(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text.replace(/^\(|\)$/g, "").split(",").filter((s) => s !== "");
}

/** Runs every block through `run`; returns the mismatches (and rewrites the file if asked). */
export function runTranscript(file: string, run: (line: string) => string[]): { command: string; expected: string[]; actual: string[] }[] {
  const blocks = parseTranscript(readFileSync(file, "utf8"), file);
  const results = blocks.map((b) => ({ ...b, actual: run(b.command) }));
  if (process.env.CATENA_REWRITE) writeFileSync(file, formatTranscript(results));
  return results.filter((r) => r.actual.join("\n") !== r.expected.join("\n"));
}
