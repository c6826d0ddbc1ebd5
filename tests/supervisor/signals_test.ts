/**
 * `lameduck run`'s promises about processes and signals (docs/restarts.md): the
 * serving worker dying ends the supervisor with its status; workers run in their own process
 * group, so a Ctrl-C (SIGINT to the terminal's foreground process group) reaches only the
 * supervisor, which sends the worker one SIGTERM; SIGUSR2 restarts like SIGHUP. Node workers:
 * none of this depends on the worker's runtime.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import process from "node:process";
import { test } from "node:test";
import { within } from "../shared/time.ts";
import { LOOPBACK, supervise, type Supervisor } from "./spawn.ts";

/**
 * Starts `lameduck run` with a Node worker. `detached` gives the supervisor its own process
 * group, as a shell does for a foreground job, so the test can signal that whole group.
 */
const run = (detached = false): Supervisor =>
  supervise(LOOPBACK, { env: { WORKER_REPORT: "1" }, detached });

/** The process group of `pid` (field 5 of /proc/<pid>/stat). */
function processGroup(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
}

async function workerAndPort(sup: Supervisor): Promise<{ pid: number; port: number }> {
  const port = Number((await sup.until(/socket 127\.0\.0\.1:(\d+) /, "the socket"))[1]);
  const pid = Number((await sup.until(/worker 1 \(pid (\d+)\) ready/, "worker 1"))[1]);
  return { pid, port };
}

test("the serving worker exiting by itself (status 3) is logged and replaced; the supervisor keeps serving", async () => {
  const sup = run();
  try {
    const { port } = await workerAndPort(sup);
    await fetch(`http://127.0.0.1:${port}/exit?code=3`).catch(() => {});
    await sup.until(
      /worker 1 \(pid \d+\) exited 3 unexpectedly; replacing it in 100 ms/,
      "the death to be logged",
    );
    await sup.until(/worker 2 \(pid \d+\) ready/, "the replacement");
    assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 200);
    sup.child.kill("SIGTERM");
    const exit = await within(sup.ended, 10_000, `the supervisor to exit\n${sup.log()}`);
    assert.deepEqual(exit, { code: 0, signal: null }, sup.log());
  } finally {
    sup.kill();
  }
});

test("the serving worker killed by SIGKILL is logged as such and replaced", async () => {
  const sup = run();
  try {
    const { pid } = await workerAndPort(sup);
    process.kill(pid, "SIGKILL");
    await sup.until(
      /worker 1 \(pid \d+\) killed by SIGKILL unexpectedly; replacing it in 100 ms/,
      "the death to be logged",
    );
    await sup.until(/worker 2 \(pid \d+\) ready/, "the replacement");
  } finally {
    sup.kill();
  }
});

test("workers run in their own process group: Ctrl-C (SIGINT to the foreground group) reaches only the supervisor, which sends the worker one SIGTERM", async () => {
  const sup = run(true);
  try {
    const { pid } = await workerAndPort(sup);
    const group = processGroup(sup.child.pid!);
    assert.equal(group, sup.child.pid, "the supervisor leads its own group (the test's terminal)");
    assert.notEqual(processGroup(pid), group, "the worker is in the supervisor's process group");
    process.kill(-group, "SIGINT"); // what the terminal does on Ctrl-C
    const exit = await within(sup.ended, 10_000, `the supervisor to exit\n${sup.log()}`);
    assert.deepEqual(exit, { code: 0, signal: null }, sup.log());
    assert.match(sup.log(), /SIGINT: draining worker 1 \(pid \d+\) and exiting/);
    // The worker heard only the supervisor's SIGTERM: had Ctrl-C reached it too, its shutdown
    // would say SIGINT, and the second signal would have forced it.
    assert.match(sup.log(), new RegExp(`worker ${pid}: closed by SIGTERM \\(graceful true\\)`));
    assert.doesNotMatch(sup.log(), /again: forwarding/);
  } finally {
    sup.kill();
  }
});

test("SIGUSR2 restarts like SIGHUP: a new worker serves, the old one drains", async () => {
  const sup = run();
  try {
    const { pid, port } = await workerAndPort(sup);
    sup.child.kill("SIGUSR2");
    await sup.until(/SIGUSR2: restarting/, "the restart to start");
    const next = Number((await sup.until(/worker 2 \(pid (\d+)\) ready/, "worker 2"))[1]);
    await sup.until(/restart done/, "the restart to finish");
    assert.notEqual(next, pid);
    const served = (await (await fetch(`http://127.0.0.1:${port}/`)).text()).trim();
    assert.equal(served, String(next), "the new worker serves");
    assert.match(sup.log(), new RegExp(`worker ${pid}: closed by SIGTERM \\(graceful true\\)`));
    sup.child.kill("SIGTERM");
    const exit = await within(sup.ended, 10_000, `the supervisor to exit\n${sup.log()}`);
    assert.deepEqual(exit, { code: 0, signal: null }, sup.log());
  } finally {
    sup.kill();
  }
});

// Regression: the signal listeners used to be installed only after the first worker was ready,
// so a SIGHUP or SIGUSR2 in between (even one sent on seeing the "ready" line) killed the
// supervisor and left its worker running in its own process group.
test("a SIGHUP or SIGUSR2 before the first worker is ready is ignored, not fatal", async () => {
  const sup = run();
  try {
    await sup.until(/worker 1 started \(pid \d+\)/, "worker 1 to start");
    sup.child.kill("SIGHUP");
    sup.child.kill("SIGUSR2");
    await sup.until(/SIGHUP: the first worker is not ready yet; ignored/, "SIGHUP ignored");
    await sup.until(/SIGUSR2: the first worker is not ready yet; ignored/, "SIGUSR2 ignored");
    const { port } = await workerAndPort(sup);
    const served = (await (await fetch(`http://127.0.0.1:${port}/`)).text()).trim();
    assert.match(served, /^\d+$/, "worker 1 serves");
    sup.child.kill("SIGTERM");
    const exit = await within(sup.ended, 10_000, `the supervisor to exit\n${sup.log()}`);
    assert.deepEqual(exit, { code: 0, signal: null }, sup.log());
  } finally {
    sup.kill();
  }
});
