/**
 * `lameduck run` in a hostile environment: its log reader goes away (`lameduck run ... 2>&1 |
 * head -c 200`), and a `$TMPDIR` that cannot hold the workers' notify sockets.
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { sleep, within } from "../shared/time.ts";
import { gone, lameduck, LOOPBACK, running, servedBy, supervise } from "./spawn.ts";

test("the log reader going away (EPIPE) stops neither the supervisor nor a Node worker", async () => {
  const sup = supervise(LOOPBACK, { env: { WORKER_LOG: "1" } });
  const pids: number[] = [];
  try {
    const port = Number((await sup.until(/socket 127\.0\.0\.1:(\d+) /, "the socket"))[1]);
    await sup.until(/worker 1 \(pid \d+\) ready/, "worker 1");
    await sup.until(/lameduck\[worker 1, pid \d+\]: listening on /, "the worker's first log line");
    sup.child.stderr!.destroy(); // `head -c 200` has read enough and exits
    await sleep(100);
    pids.push(await servedBy(port));
    // The worker's default logger writes the handler's error to the closed pipe.
    assert.equal((await fetch(`http://127.0.0.1:${port}/throw`)).status, 500);
    await sleep(200);
    assert.equal(await servedBy(port), pids[0], "worker 1 still serves after its log failed");
    // The supervisor logs the restart to the closed pipe, and still restarts.
    sup.child.kill("SIGHUP");
    const next = async () => {
      for (;;) {
        const pid = await servedBy(port).catch(() => pids[0]!);
        if (pid !== pids[0]) return pid;
        await sleep(50);
      }
    };
    pids.push(await within(next(), 15_000, "a new worker to serve after SIGHUP"));
    await gone(pids[0]!, 10_000, "worker 1 to drain and exit");
    assert.equal((await fetch(`http://127.0.0.1:${port}/throw`)).status, 500);
    assert.equal(await servedBy(port), pids[1], "worker 2 still serves after its log failed");
    sup.child.kill("SIGTERM");
    assert.equal(await within(sup.exited, 10_000, "the supervisor to exit"), 0);
    assert.equal(running(pids[1]!), false, "the supervisor stopped worker 2 before it exited");
  } finally {
    sup.kill();
    for (const pid of pids) if (running(pid)) process.kill(pid, "SIGKILL");
  }
});

/** Runs the CLI with `TMPDIR`; the worker writes its PID to a file, so a leak can be seen. */
async function withTmpdir(tmp: string) {
  const dir = mkdtempSync(join(tmpdir(), "lameduck-env-"));
  const pidFile = join(dir, "worker.pid");
  const { code, stderr } = await lameduck(
    ["run", ...LOOPBACK, "--", "sh", "-c", `echo $$ > ${pidFile}; exec sleep 30`],
    { env: { TMPDIR: tmp } },
  );
  await sleep(200); // a worker started anyway would have written its PID by now
  const leaked = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : undefined;
  if (leaked !== undefined && running(leaked)) process.kill(leaked, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
  return { code, stderr, leaked };
}

test("a $TMPDIR too long for a unix socket, or missing: exit 2 with one line, no worker started", async () => {
  const base = mkdtempSync(join(tmpdir(), "lameduck-long-"));
  const long = join(base, "d".repeat(60), "e".repeat(60));
  mkdirSync(long, { recursive: true });
  try {
    const cases: [string, RegExp][] = [
      [long, /\$TMPDIR\) is too long for the workers' unix sockets \(\d+ bytes, at most 107\)/],
      [
        join(base, "missing"),
        /cannot create the workers' socket directory in .*missing \(\$TMPDIR\): ENOENT/,
      ],
    ];
    for (const [tmp, message] of cases) {
      const run = await withTmpdir(tmp);
      assert.equal(run.leaked, undefined, `no worker started\n${run.stderr}`);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.trimEnd().split("\n").length, 1, `one line:\n${run.stderr}`);
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
