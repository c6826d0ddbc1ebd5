/**
 * A signal that reaches `lameduck run` while its first worker starts: the supervisor has its
 * handlers already, stops the starting worker and exits 0 (before, the default action of the
 * signal could kill it in the moment between "ready" and its handlers, leaving the worker).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import assert from "node:assert/strict";
import { binaryOf, ROOT } from "../contract/runtimes.ts";
import { within } from "../shared/time.ts";

const CLI = join(ROOT, "src", "supervisor", "cli.ts");
const WORKER = join(ROOT, "tests", "supervisor", "worker.ts");

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`${signal} while the first worker starts stops it, and the supervisor exits 0`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "lameduck-startup-"));
    const hang = join(dir, "hang");
    writeFileSync(hang, ""); // The worker never becomes ready.
    const child = spawn(
      binaryOf("node"),
      [CLI, "run", "--port", "0", "--host", "127.0.0.1", "--", binaryOf("node"), WORKER],
      { env: { ...process.env, WORKER_HANG_FILE: hang }, stdio: ["ignore", "ignore", "pipe"] },
    );
    let log = "";
    child.stderr!.setEncoding("utf8");
    const started = new Promise<void>((resolve) =>
      child.stderr!.on("data", (text: string) => {
        log += text;
        if (/worker 1 started/.test(log)) resolve();
      })
    );
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal }))
    );
    try {
      await within(started, 15_000, "worker 1 to start");
      child.kill(signal);
      assert.deepEqual(await within(exited, 15_000, `the supervisor to exit\n${log}`), {
        code: 0,
        signal: null,
      });
      assert.match(log, new RegExp(`${signal}: stopping worker 1 before it is ready, and exiting`));
      assert.match(log, /stopped before it was ready/);
    } finally {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
