/**
 * Keeps a failed log write from ending the process (the supervisor, and a Node worker under
 * `lameduck run`).
 *
 * @module
 */

import process from "node:process";

let kept = false;

/**
 * Makes a failed write to stderr harmless: the line is lost (there is nowhere left to report
 * it), the process goes on. Node reports a write to a pipe whose reader is gone (`EPIPE`, e.g.
 * `lameduck run ... 2>&1 | head -c 200`) as an `'error'` event on `process.stderr`, which with
 * no listener is an uncaught exception that ends the process, although `console.error` is said
 * to ignore write errors (measured on Node 24.21.0; nodejs/node#947, closed as expected
 * behaviour). Deno 2.9.6 and Bun 1.4.5 drop such writes by themselves.
 */
export function keepStderrErrorsQuiet(): void {
  if (kept) return;
  kept = true;
  process.stderr.on("error", () => {});
}
