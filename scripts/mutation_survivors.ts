/**
 * Lists the mutants `npm run mutate` left alive, per file, as Markdown (for
 * contributing/mutation.md):
 *
 *     node scripts/mutation_survivors.ts [.tmp/mutation/mutation.json]
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";

interface Mutant {
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}
interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>;
}

const path = process.argv[2] ?? ".tmp/mutation/mutation.json";
const report = JSON.parse(readFileSync(path, "utf8")) as Report;
const one = (s: string) => JSON.stringify(s.replace(/\s+/g, " ").trim().slice(0, 60));
let detected = 0;
let total = 0;
for (const [file, { source, mutants }] of Object.entries(report.files).sort()) {
  const lines = source.split("\n");
  const alive = mutants.filter((m) => m.status === "Survived" || m.status === "NoCoverage");
  total += mutants.length;
  detected += mutants.filter((m) => m.status === "Killed" || m.status === "Timeout").length;
  console.log(`\n### ${file}: ${alive.length} of ${mutants.length} survived\n`);
  for (const m of alive) {
    const { start, end } = m.location;
    const text = start.line === end.line
      ? lines[start.line - 1]!.slice(start.column - 1, end.column - 1)
      : lines[start.line - 1]!.slice(start.column - 1);
    console.log(
      `- ${start.line}:${start.column} ${m.mutatorName}: ${one(text)} → ${
        one(m.replacement ?? "")
      }`,
    );
  }
}
console.log(`\nScore: ${(100 * detected / total).toFixed(2)}% (${detected} of ${total} detected)`);
