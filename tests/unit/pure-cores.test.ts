// src/chain and src/protocol hold rules and formats only: no runtime, file system, network, clock
// or timer reaches them, so they run the same in the simulator, the transcripts and the node.
// Checked over the import graph and for the globals that would bring I/O or time in.

import { expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const PURE = ["src/chain", "src/protocol"];
const FORBIDDEN_GLOBALS = /\b(Date\.now|new Date\b|performance\.now|setTimeout|setInterval|setImmediate|queueMicrotask|Math\.random|Bun\.|process\.|fetch\(|require\()/;

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
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
