// Every key binding of the TUI, in the order the footer shows them. The input hook and the footer
// both read this table and nothing else.

import type { Key } from "ink";

export type Command = "quit" | "up" | "down" | "details" | "close" | "pause" | "kill" | "restart" | "load";

export interface HelpContext {
  paused: boolean;
  details: boolean;
  load: boolean;
}

export interface Binding {
  /** How the footer names the key. */
  keys: string;
  help: (ctx: HelpContext) => string;
  /** Only with a demo cluster to act on. */
  demoOnly: boolean;
  match: (input: string, key: Key) => Command | null;
}

export const BINDINGS: readonly Binding[] = [
  { keys: "q", help: () => "quit", demoOnly: false, match: (input) => (input === "q" ? "quit" : null) },
  { keys: "↑↓", help: () => "select", demoOnly: false, match: (_, key) => (key.upArrow ? "up" : key.downArrow ? "down" : null) },
  {
    keys: "enter",
    help: (c) => (c.details ? "close" : "details"),
    demoOnly: false,
    match: (_, key) => (key.return ? "details" : key.escape ? "close" : null),
  },
  { keys: "p", help: (c) => (c.paused ? "resume" : "pause"), demoOnly: false, match: (input) => (input === "p" ? "pause" : null) },
  { keys: "k", help: () => "kill", demoOnly: true, match: (input) => (input === "k" ? "kill" : null) },
  { keys: "r", help: () => "restart", demoOnly: true, match: (input) => (input === "r" ? "restart" : null) },
  { keys: "l", help: (c) => (c.load ? "stop load" : "start load"), demoOnly: true, match: (input) => (input === "l" ? "load" : null) },
];

export function bindingsFor(demo: boolean): Binding[] {
  return BINDINGS.filter((b) => demo || !b.demoOnly);
}

export function commandFor(input: string, key: Key, demo: boolean): Command | null {
  for (const b of bindingsFor(demo)) {
    const command = b.match(input, key);
    if (command) return command;
  }
  return null;
}
