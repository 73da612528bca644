// The import graph: src/chain and src/protocol hold rules and formats only (no runtime, file system,
// network, clock or timer reaches them, so they run the same in the simulator, the transcripts and
// the node), and no module of src/ or tui/ imports itself through others (a cycle).

import { expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const PURE = ["src/chain", "src/protocol"];
const FORBIDDEN_GLOBALS = /\b(Date\.now|new Date\b|performance\.now|setTimeout|setInterval|setImmediate|queueMicrotask|Math\.random|Bun\.|process\.|fetch\(|require\()/;

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name === "testdata" ? [] : sources(join(dir, e.name))) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)/g)].map((m) => m[1] ?? m[2]);
}

function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "").replace(/"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g, '""');
}

for (const dir of PURE) {
  test(`${dir} imports nothing but itself and the other pure directories`, () => {
    const problems: string[] = [];
    for (const file of sources(dir)) {
      for (const spec of importsOf(readFileSync(join(ROOT, file), "utf8"))) {
        if (!spec.startsWith(".")) {
          problems.push(`${file} imports "${spec}"`);
          continue;
        }
        const target = relative(ROOT, resolve(ROOT, dirname(file), spec));
        if (!PURE.some((p) => target.startsWith(p + "/"))) problems.push(`${file} imports ${target}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test(`${dir} uses no clock, timer, randomness or runtime global`, () => {
    const problems = sources(dir).flatMap((file) => {
      const m = FORBIDDEN_GLOBALS.exec(withoutComments(readFileSync(join(ROOT, file), "utf8")));
      return m ? [`${file}: ${m[1]}`] : [];
    });
    expect(problems).toEqual([]);
  });
}

test("the import check sees imports at all", () => {
  expect(importsOf('import { a } from "./x.ts";\nexport type { B } from "../y.ts";\nconst z = await import("node:fs");')).toEqual(["./x.ts", "../y.ts", "node:fs"]);
});

/** The files a file imports relatively, as paths from the repository root (type-only imports too). */
function relativeImports(file: string): string[] {
  return importsOf(readFileSync(join(ROOT, file), "utf8"))
    .filter((spec) => spec.startsWith("."))
    .map((spec) => relative(ROOT, resolve(ROOT, dirname(file), spec)));
}

/** Each cycle once, as "a -> b -> a", starting from its smallest name. */
function cycles(files: string[], importsOfFile: (file: string) => string[]): string[] {
  const edges = new Map(files.map((f) => [f, importsOfFile(f)]));
  const found = new Set<string>();
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, "open");
    stack.push(file);
    for (const next of edges.get(file) ?? []) {
      if (state.get(next) === "open") {
        const loop = stack.slice(stack.indexOf(next));
        const first = loop.indexOf([...loop].sort()[0]);
        const canonical = [...loop.slice(first), ...loop.slice(0, first)];
        found.add([...canonical, canonical[0]].join(" -> "));
      } else if (!state.has(next) && edges.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of files) if (!state.has(file)) visit(file);
  return [...found];
}

test("src/ and tui/ have no import cycles", () => {
  expect(cycles([...sources("src"), ...sources("tui")], relativeImports)).toEqual([]);
});

test("the cycle check finds a cycle of two and one of three", () => {
  const graph: Record<string, string[]> = { a: ["b"], b: ["a", "c"], c: ["d"], d: ["e"], e: ["c"], f: ["a"] };
  expect(cycles(Object.keys(graph), (f) => graph[f]).sort()).toEqual(["a -> b -> a", "c -> d -> e -> c"]);
});
