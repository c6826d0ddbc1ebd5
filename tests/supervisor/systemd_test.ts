/**
 * systemd notifications, with a stand-in `systemd-notify` on PATH (no systemd here) that logs
 * its caller's PID and arguments: a server run directly under `Type=notify` sends `READY=1`
 * and `STOPPING=1` on every runtime; `lameduck run` under `Type=notify-reload` sends
 * `READY=1`, `RELOADING=1` with `MONOTONIC_USEC` and `STOPPING=1` itself, and its workers
 * stay silent (systemd's main process is the supervisor); and `lameduck run` started by a
 * socket unit serves the socket it inherits.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, test } from "node:test";
import { bindSocket } from "../../src/supervisor/socket.ts";
import { binaryOf } from "../contract/runtimes.ts";
import { sleep, within } from "../shared/time.ts";
import { forEachRuntime } from "../contract/runtime_selection.ts";
import { LOOPBACK, supervise, WORKER } from "./spawn.ts";

const dir = mkdtempSync(join(tmpdir(), "lameduck-systemd-"));
const calls = join(dir, "calls.log");
writeFileSync(join(dir, "systemd-notify"), `#!/bin/sh\necho "$PPID $*" >> "${calls}"\n`);
chmodSync(join(dir, "systemd-notify"), 0o755);
after(() => rmSync(dir, { recursive: true, force: true }));

/** The stand-in first on PATH, and systemd's notification socket. */
const notifyEnv = (): Record<string, string> => ({
  PATH: `${dir}${delimiter}${process.env.PATH}`,
  NOTIFY_SOCKET: join(dir, "notify.sock"),
});
const env = (): NodeJS.ProcessEnv => ({ ...process.env, ...notifyEnv() });

/** The stand-in's calls so far: `[callerPid, fields]`. */
function notifications(): [number, string][] {
  let text = "";
  try {
    text = readFileSync(calls, "utf8");
  } catch { /* no call yet */ }
  return text.trim().split("\n").filter(Boolean).map((line) => {
    const [pid, ...fields] = line.split(" ");
    return [Number(pid), fields.join(" ")];
  });
}

async function until(predicate: () => boolean, what: string): Promise<void> {
  const poll = async () => {
    while (!predicate()) await sleep(25);
  };
  await within(poll(), 15_000, `${what}; calls: ${JSON.stringify(notifications())}`);
}

forEachRuntime("systemd notify", (runtime) => {
  test(`a ${runtime} server under Type=notify sends READY=1 once listening and STOPPING=1 on SIGTERM`, async () => {
    rmSync(calls, { force: true });
    const args = runtime === "deno" ? ["run", "-A", WORKER] : [WORKER];
    const child = spawn(binaryOf(runtime), args, { env: env(), stdio: "ignore" });
    try {
      await until(() => notifications().some(([, f]) => f.startsWith("READY=1")), "READY=1");
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      assert.equal(await within(exited, 10_000, "the server to exit"), 0);
      await until(() => notifications().some(([, f]) => f.startsWith("STOPPING=1")), "STOPPING");
      const seen = notifications();
      assert.ok(seen.every(([pid]) => pid === child.pid), `caller pids: ${JSON.stringify(seen)}`);
      assert.match(seen[0]![1], /^READY=1 STATUS=serving on http:\/\/127\.0\.0\.1:\d+\/$/);
    } finally {
      child.kill("SIGKILL");
    }
  });
});

test("lameduck run under Type=notify-reload: READY=1, RELOADING=1 + MONOTONIC_USEC, READY=1, STOPPING=1, from the supervisor only", async () => {
  rmSync(calls, { force: true });
  const sup = supervise(LOOPBACK, { env: notifyEnv() });
  try {
    await until(() => notifications().length === 1, "READY=1 after the first worker");
    sup.child.kill("SIGHUP");
    await until(() => notifications().length === 3, "RELOADING=1 then READY=1");
    sup.child.kill("SIGTERM");
    assert.equal(await within(sup.exited, 10_000, "the supervisor to exit"), 0);
    await until(() => notifications().length === 4, "STOPPING=1");
    const seen = notifications();
    const pid = sup.child.pid;
    assert.ok(seen.every(([caller]) => caller === pid), `caller pids: ${JSON.stringify(seen)}`);
    const fields = seen.map(([, f]) => f.split(" ")[0]);
    assert.deepEqual(fields, ["READY=1", "RELOADING=1", "READY=1", "STOPPING=1"]);
    const usec = Number(/MONOTONIC_USEC=(\d+)/.exec(seen[1]![1])?.[1]);
    // CLOCK_MONOTONIC counts from boot (without suspend), like the first field of /proc/uptime.
    const uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    assert.ok(Math.abs(usec / 1e6 - uptime) < 60, `MONOTONIC_USEC ${usec} vs uptime ${uptime} s`);
  } finally {
    sup.kill();
  }
});

test("lameduck run started by a socket unit (fd 3, LISTEN_FDS, LISTEN_PID) serves that socket and restarts on it", async () => {
  // The socket unit's part: bind, pass as fd 3, set LISTEN_PID to the child's own PID.
  const socket = bindSocket("127.0.0.1", 0);
  const sup = supervise(["--port", "1"], {
    env: { LISTEN_FDS: "1" },
    wrap: ["/bin/sh", "-c", 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"', "sh"],
    fds: [socket.fd],
  });
  const log = () => sup.log();
  const pidAt = async () => (await (await fetch(`http://127.0.0.1:${socket.port}/`)).text()).trim();
  try {
    await sup.until(/worker 1 .* ready/, "worker 1 to be ready");
    const first = await pidAt();
    sup.child.kill("SIGHUP");
    await sup.until(/restart done/, "the restart");
    assert.notEqual(await pidAt(), first, log());
    assert.match(
      log(),
      new RegExp(`socket 127\\.0\\.0\\.1:${socket.port} `),
      "--port 1 was ignored",
    );
    sup.child.kill("SIGTERM");
    assert.equal(await within(sup.exited, 10_000, "the supervisor to exit"), 0, log());
  } finally {
    sup.kill();
    socket.close();
  }
});
