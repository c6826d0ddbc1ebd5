/**
 * Guards the runtime selection: a typo in `LAMEDUCK_RUNTIMES` must fail, not silently test less.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { RUNTIMES, selectedRuntimes } from "./runtimes.ts";

test("LAMEDUCK_RUNTIMES names at least one runtime, and only deno, bun or node", () => {
  const selected = selectedRuntimes();
  assert.ok(selected.length > 0, "no runtime selected");
  const unknown = selected.filter((r) => !(RUNTIMES as readonly string[]).includes(r));
  assert.deepEqual(unknown, [], `unknown runtimes in LAMEDUCK_RUNTIMES: ${unknown.join(", ")}`);
});
