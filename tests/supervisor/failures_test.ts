/**
 * `lameduck run` when a restart goes wrong: a new worker that exits, or is not ready within
 * `--ready-timeout`, is stopped and the old one keeps serving; a SIGHUP during a restart is
 * ignored (one restart at a time); a worker that ignores SIGTERM is killed after
 * `--stop-timeout` without holding up the next restart; a worker that dies is replaced with a
 * growing backoff; bad arguments, and `reuseport` where the kernel would reset connections,
 * exit 2.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { binaryOf } from "../contract/runtimes.ts";
import { sleep, within } from "../shared/time.ts";
import { lameduck, LOOPBACK, supervise, WORKER } from "./spawn.ts";

test("a failed or timed-out restart keeps the old worker serving; one restart at a time", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lameduck-failures-"));
  const fail = join(dir, "fail");
  const hang = join(dir, "hang");
  const { sup, exited, until, log } = run(
    ["--ready-timeout", "1500"],
    { WORKER_FAIL_FILE: fail, WORKER_HANG_FILE: hang },
    15_000,
  );
  try {
    const port = Number((await until(/socket 127\.0\.0\.1:(\d+) /, "the socket"))[1]);
    const served = async () => (await (await fetch(`http://127.0.0.1:${port}/`)).text()).trim();
    const first = (await until(/worker 1 \(pid (\d+)\) ready/, "worker 1"))[1];
    assert.equal(await served(), first);

    writeFileSync(fail, "");
    sup.kill("SIGHUP");
    await until(
      /restart failed: worker 2 \(pid \d+\) exited 1 first; worker 1 \(pid \d+\) keeps serving/,
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
      /restart failed: worker 3 \(pid \d+\) not ready after 1500 ms \(it never connected to the notify socket: does it call serve\(\)\?[^;]*\); worker 1 \(pid \d+\) keeps serving/,
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
    sup.kill("SIGTERM");
    assert.equal(await within(exited, 10_000, "the supervisor to exit"), 0, log());
  } finally {
    sup.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Starts `lameduck run` with `args` and the Node test worker; its waits take up to `ms`. */
function run(args: string[], env: Record<string, string> = {}, ms = 20_000) {
  const sup = supervise([...LOOPBACK, ...args], { env });
  const until = (pattern: RegExp, what: string, count = 1) => sup.until(pattern, what, ms, count);
  return { sup: sup.child, exited: sup.exited, until, log: sup.log };
}

test("--stop-timeout: a worker that ignores SIGTERM is killed, and does not hold up the next restart", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lameduck-stubborn-"));
  const stubborn = join(dir, "stubborn");
  writeFileSync(stubborn, "");
  const { sup, exited, until, log } = run(["--stop-timeout", "2000"], {
    WORKER_STUBBORN_FILE: stubborn,
  });
  try {
    const port = Number((await until(/socket 127\.0\.0\.1:(\d+) /, "the socket"))[1]);
    await until(/worker 1 \(pid \d+\) ready/, "worker 1");
    rmSync(stubborn);
    sup.kill("SIGHUP");
    await until(/worker 2 \(pid \d+\) ready/, "worker 2");
    // Worker 1 ignores its SIGTERM; the next restart goes ahead anyway.
    sup.kill("SIGHUP");
    const third = (await until(/worker 3 \(pid (\d+)\) ready/, "worker 3 (not held up)"))[1];
    await until(
      /worker 1 \(pid \d+\) still running 2000 ms after SIGTERM \(--stop-timeout\): SIGKILL/,
      "worker 1 to be killed",
    );
    await until(/worker 1 \(pid \d+\) killed by SIGKILL/, "worker 1's end");
    await until(/restart done/, "both restarts done", 2);
    assert.ok(log().indexOf("worker 3 started") < log().indexOf("SIGKILL"), log());
    const served = (await (await fetch(`http://127.0.0.1:${port}/`)).text()).trim();
    assert.equal(served, third);
    sup.kill("SIGTERM");
    assert.equal(await within(exited, 10_000, "the supervisor to exit"), 0, log());
  } finally {
    sup.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--workers 2: a worker that dies is replaced with a growing backoff while the other serves", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lameduck-dying-"));
  const fail = join(dir, "fail");
  const { sup, exited, until, log } = run(["--workers", "2"], { WORKER_FAIL_FILE: fail });
  try {
    const port = Number((await until(/socket 127\.0\.0\.1:(\d+) /, "the socket"))[1]);
    await until(/worker \d \(pid \d+\) ready/, "workers 1 and 2", 2);
    writeFileSync(fail, ""); // Replacements now exit 1 at start.
    await fetch(`http://127.0.0.1:${port}/exit?code=3`).catch(() => {});
    const dead = (await until(
      /worker (\d) \(pid \d+\) exited 3 unexpectedly; replacing it in 100 ms \(serving: worker \d \(pid \d+\)\)/,
      "the death to be logged",
    ))[1];
    await until(
      /replacement failed: worker 3 \(pid \d+\) exited 1 first; replacing it in 200 ms/,
      "backoff",
    );
    await until(
      /replacement failed: worker 4 \(pid \d+\) exited 1 first; replacing it in 400 ms/,
      "backoff",
    );
    const other = dead === "1" ? 2 : 1;
    const pid = (await until(new RegExp(`worker ${other} \\(pid (\\d+)\\) ready`), "the other"))[1];
    for (let i = 0; i < 5; i++) {
      assert.equal((await (await fetch(`http://127.0.0.1:${port}/`)).text()).trim(), pid);
    }
    rmSync(fail);
    await until(/worker \d+ \(pid \d+\) ready/, "the replacement", 3);
    sup.kill("SIGTERM");
    assert.equal(await within(exited, 10_000, "the supervisor to exit"), 0, log());
  } finally {
    sup.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bad arguments exit 2 naming the flag and the value; reuseport is refused where it would lose connections", async () => {
  const cases: [string[], RegExp][] = [
    [["--handover", "socket"], /Invalid --handover: expected fd, reuseport or auto, got "socket"/],
    [["--workers", "0"], /Invalid --workers: expected an integer from 1 to 1024 or auto, got "0"/],
    [["--stop-timeout", "soon"], /Invalid --stop-timeout: .* got "soon"/],
  ];
  for (const [args, message] of cases) {
    const r = await lameduck(["run", ...args, "--", "true"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
  }
  if (spawnSync("unshare", ["-n", "true"]).status !== 0) return; // Needs root.
  // In a network namespace of its own, where the sysctl is 0 whatever the machine's is.
  const script = 'ip link set lo up && echo 0 > /proc/sys/net/ipv4/tcp_migrate_req && exec "$@"';
  const refuse = (extra: string[]) =>
    lameduck(
      [
        "run",
        ...LOOPBACK,
        "--handover",
        "reuseport",
        ...extra,
        "--",
        binaryOf("node"),
        "-e",
        "process.exit(5)",
      ],
      { wrap: ["unshare", "-n", "sh", "-c", script, "sh"] },
    );
  const refused = await refuse([]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(
    refused.stderr,
    /--handover reuseport would lose connections here: net\.ipv4\.tcp_migrate_req=0/,
  );
  // Forced: it starts (the worker here exits 5 at once, so the supervisor gives up with 1).
  const forced = await refuse(["--force"]);
  assert.match(forced.stderr, /handover reuseport \(--force\): net\.ipv4\.tcp_migrate_req=0/);
  assert.equal(forced.code, 1, forced.stderr);
});

test("--handover reuseport with a Deno worker lacking --unstable-net: the worker says why, the supervisor gives up", async () => {
  // --force: whatever this machine's tcp_migrate_req, the point is the worker's start. Started
  // through env, so the supervisor does not see a `deno run` command and refuse it up front
  // (cli_test.ts tests that refusal): the worker's own message is what is tested here.
  const r = await lameduck(
    [
      "run",
      ...LOOPBACK,
      "--handover",
      "reuseport",
      "--force",
      "--",
      "env",
      binaryOf("deno"),
      "run",
      "-A",
      WORKER,
    ],
    {},
    30_000,
  );
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /reusePort \(lameduck run --handover reuseport\) needs Deno's --unstable-net/,
  );
  assert.match(r.stderr, /worker 1 \(pid \d+\) exited 1 first; giving up/);
});
