/**
 * Which runtime this is, detected once for the whole library: `serve()` hands it to the
 * adapter's factory, and the few modules that choose by runtime at load (the Node bridge's head
 * writer, the decoded `fetch()` encodings) read it here.
 *
 * @module
 */

import type { Runtime } from "../core/types.ts";

const global = globalThis as { Deno?: unknown; Bun?: unknown; process?: { versions?: unknown } };

let detected: Runtime | undefined;

/**
 * Which runtime this is.
 *
 * @returns `"deno"`, `"bun"` or `"node"`.
 * @throws {Error} On any other runtime.
 */
export function detectRuntime(): Runtime {
  return detected ??= detect();
}

function detect(): Runtime {
  if (global.Deno !== undefined) return "deno";
  if (global.Bun !== undefined) return "bun";
  if ((global.process?.versions as { node?: string } | undefined)?.node !== undefined) {
    return "node";
  }
  throw new Error("Unsupported runtime: lameduck runs on Deno, Bun and Node");
}
