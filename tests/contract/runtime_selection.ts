/**
 * Which runtimes a test file covers, without silent passes: `LAMEDUCK_RUNTIMES` (a comma list)
 * may narrow a run for debugging, but every runtime it leaves out still registers a test that
 * names it. That test fails unless `LAMEDUCK_PARTIAL=1` says the partial run is intended; then
 * it is reported as skipped, with the reason, in the runner's summary. The default (neither
 * variable set) runs every runtime.
 *
 * @module
 */

import process from "node:process";
import { test } from "node:test";
import { type RuntimeName, RUNTIMES, selectedRuntimes } from "./runtimes.ts";

/** `LAMEDUCK_PARTIAL=1`: the explicit opt-in for a run that leaves runtimes out. */
export function partialRunAllowed(): boolean {
  return process.env.LAMEDUCK_PARTIAL === "1";
}

/**
 * Calls `register(runtime)` when `runtime` is selected. Otherwise registers one test named
 * `<suite> on <runtime>: left out by LAMEDUCK_RUNTIMES`, which fails, or is skipped when
 * {@linkcode partialRunAllowed}, and says so on stderr either way.
 */
export function forRuntime(
  runtime: RuntimeName,
  suite: string,
  register: (runtime: RuntimeName) => void,
): void {
  if (selectedRuntimes().includes(runtime)) {
    register(runtime);
    return;
  }
  const why = `LAMEDUCK_RUNTIMES=${process.env.LAMEDUCK_RUNTIMES} leaves ${runtime} out`;
  const name = `${suite} on ${runtime}: left out by LAMEDUCK_RUNTIMES`;
  console.error(`# NOT TESTED: ${suite} on ${runtime} (${why})`);
  if (partialRunAllowed()) {
    test(name, { skip: `${why} (LAMEDUCK_PARTIAL=1)` }, () => {});
  } else {
    test(name, () => {
      throw new Error(
        `${why}: this run does not test ${runtime}. Unset LAMEDUCK_RUNTIMES to test every ` +
          "runtime, or set LAMEDUCK_PARTIAL=1 to allow a partial run (reported as skipped)",
      );
    });
  }
}

/** {@linkcode forRuntime} for every runtime of {@linkcode RUNTIMES}, in order. */
export function forEachRuntime(suite: string, register: (runtime: RuntimeName) => void): void {
  for (const runtime of RUNTIMES) forRuntime(runtime, suite, register);
}
