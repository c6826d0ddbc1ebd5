/**
 * Runs the demo (`scripts/demo.ts --quick`) and checks its tables. Shutdown: six rows, lameduck
 * lost no request and exited 0 in bounded time on every runtime, and the naive baseline lost
 * requests (the negative control: the measurement can fail). Restarts: `lameduck run --workers
 * 2` failed and refused nothing on every runtime, while a naive restart refused or lost some.
 *
 *     node --test tests/examples/demo_test.ts
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = join(fileURLToPath(import.meta.url), "..", "..", "..");
const NODE = join(ROOT, "node_modules", ".bin", "node");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runDemo(timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, ["scripts/demo.ts", "--quick"], {
      cwd: ROOT,
      env: { ...process.env, LAMEDUCK_RUNTIMES: "", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`The demo did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The data rows of the `index`th table (0: shutdown, 1: restarts), as cells. */
function rowsOf(stdout: string, index = 0): string[][] {
  const tables = stdout.split(/\n\s*\n/).map((block) =>
    block.split("\n").filter((l) => l.includes(" | "))
  ).filter((lines) => lines[0]?.startsWith("runtime"));
  const lines = tables[index];
  assert.ok(lines, `no table ${index} in:\n${stdout}`);
  return lines.slice(1).map((l) => l.split(" | ").map((c) => c.trim()));
}

test(
  "the demo's table shows lameduck losing no request on Deno, Bun and Node while the naive servers do",
  {
    timeout: 180_000,
  },
  async () => {
    const run = await runDemo(170_000);
    const context = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
    const rows = rowsOf(run.stdout);
    assert.equal(rows.length, 6, context);
    assert.deepEqual(
      rows.map((r) => `${r[0]} ${r[1]}`),
      [
        "deno lameduck",
        "deno naive",
        "bun lameduck",
        "bun naive",
        "node lameduck",
        "node naive",
      ],
      context,
    );
    for (const [runtime, server, inFlight, , aborted, failed, exit] of rows) {
      const what = `${runtime} ${server}`;
      assert.match(inFlight ?? "", /^\d+$/, `${what}: in flight\n${context}`);
      assert.ok(Number(inFlight) > 0, `${what}: nothing was in flight at SIGTERM\n${context}`);
      const exitMs = Number(/^(\d+) /.exec(exit ?? "")?.[1]);
      if (server === "lameduck") {
        assert.equal(failed, "0", `${what}: failed client requests\n${context}`);
        assert.equal(aborted, "0", `${what}: aborted\n${context}`);
        assert.match(exit ?? "", /\(exit 0\)$/, `${what}: exit\n${context}`);
        // lame-duck window (1 s) + the longest request (0.8 s) + hooks, with room for a busy machine
        assert.ok(
          exitMs >= 1_000 && exitMs < 8_000,
          `${what}: signal→exit ${exitMs} ms\n${context}`,
        );
      } else {
        assert.ok(Number(failed) > 0, `${what}: the negative control lost nothing\n${context}`);
        assert.match(exit ?? "", /\(SIGTERM\)$/, `${what}: exit\n${context}`);
      }
    }
    const restarts = rowsOf(run.stdout, 1);
    assert.deepEqual(
      restarts.map((r) => `${r[0]} ${r[1]}`),
      [
        "deno lameduck run",
        "deno naive",
        "bun lameduck run",
        "bun naive",
        "node lameduck run",
        "node naive",
      ],
      context,
    );
    for (const [runtime, how, , ok, failed, refused] of restarts) {
      const what = `${runtime} ${how} restarts`;
      assert.ok(Number(ok) > 0, `${what}: nothing served\n${context}`);
      if (how === "lameduck run") {
        assert.equal(failed, "0", `${what}: failed\n${context}`);
        assert.equal(refused, "0", `${what}: refused\n${context}`);
      } else {
        // The negative control: a naive restart refuses (or resets) connections.
        assert.ok(Number(failed) + Number(refused) > 0, `${what}: lost nothing\n${context}`);
      }
    }
    assert.equal(run.code, 0, `the demo's exit code\n${context}`);
  },
);
