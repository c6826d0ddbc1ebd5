/**
 * Torture: `serve()` options fuzzed with fast-check (options_fuzz.ts). On Node in-process; on
 * Deno and Bun through options_fuzz_run.ts in a child process of that runtime, which also runs
 * the deterministic edge cases on every runtime. Runs:
 * `LAMEDUCK_FUZZ_RUNS` (default 1000 on Node, 300 elsewhere); `LAMEDUCK_FUZZ_SEED` replays a
 * failure.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { describe, test } from "node:test";
import { binaryOf, ROOT, type RuntimeName } from "../contract/runtimes.ts";
import { within } from "../shared/time.ts";
import { forEachRuntime } from "../contract/runtime_selection.ts";
import type { EdgeProblems } from "./options_edge.ts";
import { fuzzOptions } from "./options_fuzz.ts";

const RUNS = process.env.LAMEDUCK_FUZZ_RUNS ? Number(process.env.LAMEDUCK_FUZZ_RUNS) : undefined;
const SEED = process.env.LAMEDUCK_FUZZ_SEED ? Number(process.env.LAMEDUCK_FUZZ_SEED) : undefined;

interface RunnerResult {
  ok: boolean;
  runs: number;
  counts?: Record<string, number>;
  error?: string;
  cause?: string;
}

/** Runs options_fuzz_run.ts on `runtime`; resolves with its two JSON lines. */
async function runIn(
  runtime: RuntimeName,
  runs: number,
): Promise<{ fuzz: RunnerResult; edge: EdgeProblems }> {
  const script = "tests/torture/options_fuzz_run.ts";
  const args = runtime === "deno" ? ["run", "-A", script] : [script];
  const child = spawn(binaryOf(runtime), args, {
    cwd: ROOT,
    env: {
      ...process.env,
      FUZZ_RUNS: String(runs),
      ...(SEED === undefined ? {} : { FUZZ_SEED: String(SEED) }),
      NO_COLOR: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
  const code = await within(
    new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c))),
    240_000,
    `the ${runtime} fuzz runner to exit (a server that never closed keeps it alive)`,
  ).finally(() => child.exitCode === null && child.kill("SIGKILL"));
  const lines = out.trim().split("\n").filter((l) => l.startsWith("{"));
  const fuzz = lines.map((l) => JSON.parse(l)).find((j) => "ok" in j) as RunnerResult | undefined;
  const edge = lines.map((l) => JSON.parse(l)).find((j) => "edgeCases" in j)?.edgeCases;
  assert.ok(
    fuzz && edge,
    `no result lines (exit ${code}):\n${out.slice(-2000)}\n${err.slice(-2000)}`,
  );
  return { fuzz, edge };
}

const DESCRIBE_FUZZ =
  "random options either serve and shut down cleanly (no signal listener left) or throw a TypeError/RangeError naming the option that is set wrong";
const EDGE: [keyof EdgeProblems, string][] = [
  [
    "onListen",
    "an onListen that throws is reported, not fatal: onListen runs, ready resolves and close() frees the port",
  ],
  [
    "websocket",
    "a websocket that is neither an object nor a function throws a TypeError naming it on every runtime; an object or a function is served",
  ],
  [
    "durations",
    "a drainTimeout, lameDuck or hook timeout of 2^31 ms is refused (RangeError); 2^31 - 1 ms (24.8 days) waits",
  ],
];

describe("torture: options fuzzing", () => {
  forEachRuntime("torture: options fuzzing", (runtime) => {
    // Node fuzzes in-process; its child only runs the edge cases, which can leave a server
    // listening (a bug) that would keep this process alive.
    const childRuns = runtime === "node" ? 0 : RUNS ?? 300;
    let result: Promise<{ fuzz: RunnerResult; edge: EdgeProblems }> | undefined;
    const run = () => result ??= runIn(runtime, childRuns);

    test(`${runtime}: ${DESCRIBE_FUZZ}`, async () => {
      if (runtime === "node") {
        const counts = await fuzzOptions(RUNS ?? 1_000, SEED);
        console.log(`# node fuzz (in-process): ${RUNS ?? 1_000} runs ${JSON.stringify(counts)}`);
        assert.ok(counts.served! > 0 && counts.threw! > 0, "both outcomes are exercised");
        return;
      }
      const { fuzz } = await run();
      console.log(`# ${runtime} fuzz: ${fuzz.runs} runs ${JSON.stringify(fuzz.counts ?? {})}`);
      assert.ok(fuzz.ok, `${fuzz.error}\ncause: ${fuzz.cause}`);
      assert.ok(fuzz.counts!.served! > 0 && fuzz.counts!.threw! > 0, "both outcomes are exercised");
    });

    for (const [group, behaviour] of EDGE) {
      test(`${runtime}: ${behaviour}`, async () => {
        assert.deepEqual((await run()).edge[group], []);
      });
    }
  });
});
