/**
 * Runs the options fuzzer (options_fuzz.ts) and the edge cases (options_edge.ts) in this runtime and prints two
 * JSON lines: `{ ok, runs, counts }` or `{ ok: false, runs, error, cause }`, then
 * `{ edgeCases: [problems] }`. Started by options_fuzz_test.ts with each runtime;
 * `FUZZ_RUNS` (0: edge cases only) and `FUZZ_SEED` tune it.
 *
 * @module
 */

import process from "node:process";
import { edgeCases } from "./options_edge.ts";
import { fuzzOptions } from "./options_fuzz.ts";

const runs = Number(process.env.FUZZ_RUNS ?? "300");
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
try {
  const counts = runs > 0 ? await fuzzOptions(runs, seed) : {};
  console.log(JSON.stringify({ ok: true, runs, counts }));
} catch (error) {
  const cause = (error as Error).cause;
  console.log(JSON.stringify({ ok: false, runs, error: String(error), cause: String(cause) }));
}
console.log(JSON.stringify({ edgeCases: await edgeCases() }));
// A server that failed to close must not keep this process alive (see edgeCases).
process.exit(0);
