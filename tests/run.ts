// The test command (npm test): runs `bun test` with its JUnit reporter and ends with the plain
// line "N passed, N failed" that CI reads. Exits non-zero on any failure.

import { mkdirSync, readFileSync, rmSync } from "node:fs";

const out = ".tmp/junit.xml";
mkdirSync(".tmp", { recursive: true });
rmSync(out, { force: true });

const proc = Bun.spawn([process.execPath, "test", "--timeout=120000", "--reporter=junit", `--reporter-outfile=${out}`, ...process.argv.slice(2)], {
  stdio: ["inherit", "inherit", "inherit"],
});
const code = await proc.exited;

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const xml = readFileSync(out, "utf8");
  for (const m of xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = m[2] ?? "";
    if (/<(failure|error)\b/.test(body)) failed++;
    else if (/<skipped\b/.test(body)) skipped++;
    else passed++;
  }
} catch {
  console.error("the test runner wrote no JUnit report");
  failed++;
}
if (code !== 0 && failed === 0) failed = 1; // a crash outside any test still fails the run
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 ? 1 : 0);
