/**
 * Runs each framework example (examples/express.ts, koa.ts, fastify.ts, nest.ts, h3.ts) as a
 * user would and checks what it promises (example_harness.ts): `/whoami` (not h3's), `/readyz`,
 * and on SIGTERM the SSE stream's final event and complete body, readiness 503 in the lame-duck
 * window, the cleanup hook, exit 0. Express and h3 on Node, Bun and Deno; the others on Node.
 *
 *     node_modules/.bin/node --test tests/examples/framework_examples_test.ts
 *
 * @module
 */

import type { RuntimeName } from "../contract/runtimes.ts";
import { exampleCases, type ExampleRow } from "./example_harness.ts";

/** The command line of `file` on `runtime`. */
const args = (runtime: RuntimeName, file: string) =>
  runtime === "deno" ? ["run", "-A", `examples/${file}`] : [`examples/${file}`];

const rows: ExampleRow[] = [];
for (
  const [file, runtimes, whoami] of [
    ["express.ts", ["node", "bun", "deno"], true],
    ["koa.ts", ["node"], true],
    ["fastify.ts", ["node"], true],
    ["nest.ts", ["node"], true],
    ["h3.ts", ["node", "bun", "deno"], false],
  ] as const
) {
  for (const runtime of runtimes) {
    rows.push({ runtime, args: args(runtime, file), webSocket: false, whoami });
  }
}

exampleCases(rows);
