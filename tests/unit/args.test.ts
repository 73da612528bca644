// The CLI's flags (node:util parseArgs underneath) and its one-line usage errors.

import { expect, test } from "bun:test";
import { UsageError, parseArgs } from "../../src/cli/args.ts";

const spec = { values: ["from", "clients"], booleans: ["json"], aliases: { c: "clients" } };
const parse = (...argv: string[]) => parseArgs(argv, spec, "read");
const problem = (...argv: string[]) => {
  try {
    parse(...argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error("no usage error");
};

test("values, booleans, short aliases, -h, and positionals around them", () => {
  const p = parse("--from", "3", "x", "--json", "-c", "2", "y");
  expect(Object.fromEntries(p.flags)).toEqual({ from: "3", json: true, clients: "2" });
  expect(p.positionals).toEqual(["x", "y"]);
  expect(Object.fromEntries(parse("--from=-5").flags)).toEqual({ from: "-5" });
  expect(parse("-h").flags.get("help")).toBe(true);
  expect(parse("-", "--", "--json").positionals).toEqual(["-", "--json"]);
});

test("each mistake is one line naming the command and the flag", () => {
  expect(problem("--frm", "3")).toBe("read: unknown option --frm; see catena read --help");
  expect(problem("-x")).toBe("read: unknown option -x; see catena read --help");
  expect(problem("--from")).toBe("read: --from needs a value");
  expect(problem("--json=yes")).toBe("read: --json takes no value");
  expect(problem("--from", "-5")).toBe('read: --from needs a value; one that starts with "-" is written --from=VALUE');
});

test("a short alias missing its value is named by its long name", () => {
  expect(problem("-c")).toBe("read: --clients needs a value");
});
