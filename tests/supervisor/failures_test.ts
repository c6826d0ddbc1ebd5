/**
 * `lameduck run` when a restart goes wrong: a new worker that exits, or is not ready within
 * `--ready-timeout`, is stopped and the old one keeps serving; a SIGHUP during a restart is
 * ignored (one restart at a time).
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { binaryOf, ROOT, sleep, within } from "../contract/harness.ts";

test("a failed or timed-out restart keeps the old worker serving; one restart at a time", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lameduck-failures-"));
  const fail = join(dir, "fail");
  const hang = join(dir, "hang");
  const cli = join(ROOT, "src", "supervisor", "cli.ts");
  const worker = join(ROOT, "tests", "supervisor", "worker.ts");
  const sup = spawn(
    binaryOf("node"),
    [
      cli,
      "run",
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--ready-timeout",
      "1500",
      "--",
      binaryOf("node"),
      worker,
    ],
    {
      env: { ...process.env, WORKER_FAIL_FILE: fail, WORKER_HANG_FILE: hang },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let log = "";
  sup.stderr!.on("data", (chunk: Buffer) => (log += chunk));
  const until = async (pattern: RegExp, what: string) => {
    const deadline = Date.now() + 15_000;
    while (!pattern.test(log)) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}\nlog:\n${log}`);
      await sleep(25);
    }
    return pattern.exec(log)!;
  };
  try {
    const port = Number((await until(/socket 127\.0\.0\.1:(\d+) /, "the socket"))[1]);
    const served = async () => (await (await fetch(`http://127.0.0.1:${port}/`)).text()).trim();
    const first = (await until(/worker 1 \(pid (\d+)\) ready/, "worker 1"))[1];
    assert.equal(await served(), first);

    writeFileSync(fail, "");
    sup.kill("SIGHUP");
    await until(
      /restart failed: worker 2 exited 1 first; worker 1 keeps serving/,
      "restart 2 to fail",
    );
    assert.equal(await served(), first);
    rmSync(fail);

    writeFileSync(hang, "");
    sup.kill("SIGHUP");
    await sleep(100);
    sup.kill("SIGHUP");
    await until(/SIGHUP: a restart is already in progress; ignored/, "the second SIGHUP ignored");
    const hung = Number((await until(/worker 3 started \(pid (\d+)\)/, "worker 3"))[1]);
    await until(
      /restart failed: worker 3 \(pid \d+\) not ready after 1500 ms \(it never connected to the notify socket: does it call serve\(\)\?[^;]*\); worker 1 keeps serving/,
      "restart 3",
    );
    assert.equal(await served(), first);
    const gone = async () => {
      for (;;) {
        try {
          process.kill(hung, 0);
        } catch {
          return;
        }
        await sleep(50);
      }
    };
    await within(gone(), 10_000, "the worker that never became ready to be stopped");
    rmSync(hang);

    sup.kill("SIGHUP");
    await until(/restart done/, "restart 4");
    assert.notEqual(await served(), first);
    const exited = new Promise((resolve) => sup.once("exit", resolve));
    sup.kill("SIGTERM");
    assert.equal(await within(exited, 10_000, "the supervisor to exit"), 0, log);
  } finally {
    sup.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
