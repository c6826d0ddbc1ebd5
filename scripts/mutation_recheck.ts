/**
 * Re-tests only the mutants the last `npm run mutate` left alive, against the current unit tests
 * (a full run of the core takes most of an hour; this takes minutes):
 *
 *     node scripts/mutation_recheck.ts [.tmp/mutation/mutation.json] [test files...]
 *
 * Each survivor is applied, one at a time, to the source the report measured, in a copy of the
 * tree under `.tmp/recheck`; the unit tests run on Node 24 (all of `tests/unit`, or the files
 * given). A mutant is killed when they fail (or time out). Prints the mutants still alive in the
 * format of `scripts/mutation_survivors.ts`, and the count killed.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

interface Mutant {
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}
interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>;
}

const root = fileURLToPath(new URL("..", import.meta.url));
const [path = ".tmp/mutation/mutation.json", ...given] = process.argv.slice(2);
const report = JSON.parse(readFileSync(path, "utf8")) as Report;
const sandbox = join(root, ".tmp", "recheck");
rmSync(sandbox, { recursive: true, force: true });
mkdirSync(sandbox, { recursive: true });
for (const entry of ["src", "tests", "deno.json", "package.json", "tsconfig.json"]) {
  cpSync(join(root, entry), join(sandbox, entry), { recursive: true });
}
symlinkSync(join(root, "node_modules"), join(sandbox, "node_modules"));
const tests = given.length > 0
  ? given
  : readdirSync(join(root, "tests/unit")).filter((f) => f.endsWith("_test.ts")).map((f) =>
    `tests/unit/${f}`
  );
const node = join(root, "node_modules/.bin/node");

/** The offset of a 1-based line and column in `source`. */
function offset(source: string, line: number, column: number): number {
  let at = 0;
  for (let l = 1; l < line; l++) at = source.indexOf("\n", at) + 1;
  return at + column - 1;
}

const one = (s: string) => JSON.stringify(s.replace(/\s+/g, " ").trim().slice(0, 60));
let killed = 0;
let alive = 0;
for (const [file, { source, mutants }] of Object.entries(report.files).sort()) {
  const survivors = mutants.filter((m) => m.status === "Survived" || m.status === "NoCoverage");
  if (survivors.length === 0) continue;
  const lines: string[] = [];
  for (const m of survivors) {
    const { start, end } = m.location;
    const from = offset(source, start.line, start.column);
    const to = offset(source, end.line, end.column);
    writeFileSync(
      join(sandbox, file),
      source.slice(0, from) + (m.replacement ?? "") + source.slice(to),
    );
    const run = spawnSync(node, ["--test", "--test-reporter=dot", ...tests], {
      cwd: sandbox,
      timeout: 30_000,
      stdio: "ignore",
    });
    if (run.status === 0) {
      alive++;
      lines.push(
        `- ${start.line}:${start.column} ${m.mutatorName}: ${one(source.slice(from, to))} → ${
          one(m.replacement ?? "")
        }`,
      );
    } else killed++;
  }
  writeFileSync(join(sandbox, file), source);
  console.log(`\n### ${file}: ${lines.length} of ${survivors.length} survivors still alive\n`);
  for (const line of lines) console.log(line);
}
console.log(`\nKilled now: ${killed}; still alive: ${alive}`);
