/**
 * The supervisor's states and the events that move it between them, in-process with fakes:
 * `starting`, `serving`, `restarting`, `stopping`; the workers' table and the last restart's
 * outcome as the `Supervisor` object shows them; the pid file and `$TMPDIR` through `System`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { Supervisor } from "../../src/supervisor/supervisor.ts";
import { FakeSystem, options } from "./supervisor_fakes.ts";

const states = (supervisor: Supervisor) => supervisor.workers.map((w) => `${w.id} ${w.state}`);

test("starting -> serving once every first worker is ready; the table lists them", async () => {
  const system = new FakeSystem();
  const supervisor = new Supervisor(options({ workers: 2 }), system);
  assert.equal(supervisor.state, "starting");
  assert.equal(supervisor.workers.length, 0);
  const done = supervisor.run();
  assert.equal(supervisor.state, "starting");
  assert.deepEqual(states(supervisor), ["1 starting", "2 starting"]);
  assert.deepEqual(supervisor.workers.map((w) => [w.pid, w.readySince]), [
    [1001, undefined],
    [1002, undefined],
  ]);
  const before = Date.now();
  await system.until(/ready after/, 2);
  assert.equal(supervisor.state, "serving");
  assert.deepEqual(states(supervisor), ["1 ready", "2 ready"]);
  for (const w of supervisor.workers) assert.ok(w.readySince! >= before - 50, `${w.readySince}`);
  assert.equal(supervisor.lastRestart?.result, undefined);
  system.signal("SIGTERM");
  assert.equal(supervisor.state, "stopping");
  assert.deepEqual(states(supervisor), ["1 draining", "2 draining"]);
  assert.equal(await done, 0);
  assert.equal(supervisor.workers.length, 0);
});

test("serving -> restarting on SIGHUP -> serving; the last restart is done once the old drained", async () => {
  const system = new FakeSystem();
  system.behaviours.set(1, "slow"); // drains for 100 ms
  const supervisor = new Supervisor(options(), system);
  const done = supervisor.run();
  await system.until(/ready after/);
  system.signal("SIGUSR2");
  assert.equal(supervisor.state, "restarting");
  assert.deepEqual(states(supervisor), ["1 ready", "2 starting"]);
  await system.until(/replaced by worker 2/);
  assert.equal(supervisor.state, "serving", "serving as soon as every slot has its new worker");
  assert.deepEqual(states(supervisor), ["1 draining", "2 ready"]);
  assert.equal(supervisor.lastRestart?.result, undefined, "not done while worker 1 drains");
  await system.until(/restart done/);
  assert.equal(supervisor.lastRestart?.signal, "SIGUSR2");
  assert.equal(supervisor.lastRestart?.result, "done");
  assert.equal(supervisor.lastRestart?.reason, undefined);
  assert.ok(supervisor.lastRestart!.durationMs >= 90, `${supervisor.lastRestart!.durationMs}`);
  assert.deepEqual(states(supervisor), ["2 ready"]);
  system.signal("SIGTERM");
  assert.equal(await done, 0);
});

test("restarting -> serving when a new worker fails; the last restart says failed and why", async () => {
  const system = new FakeSystem();
  system.behaviours.set(2, "fail");
  const supervisor = new Supervisor(options(), system);
  const done = supervisor.run();
  await system.until(/ready after/);
  system.signal("SIGHUP");
  await system.until(/restart failed/);
  assert.equal(supervisor.state, "serving");
  assert.deepEqual(
    supervisor.lastRestart && {
      signal: supervisor.lastRestart.signal,
      result: supervisor.lastRestart.result,
      reason: supervisor.lastRestart.reason,
    },
    { signal: "SIGHUP", result: "failed", reason: "worker 2 (pid 1002) exited 1 first" },
  );
  assert.deepEqual(states(supervisor), ["1 ready"]);
  system.signal("SIGTERM");
  assert.equal(await done, 0);
});

test("restarting -> stopping on SIGTERM: the new worker is stopped too; the restart says stopped", async () => {
  const system = new FakeSystem();
  system.behaviours.set(2, "hang");
  const supervisor = new Supervisor(options({ readyTimeout: 5000 }), system);
  const done = supervisor.run();
  await system.until(/ready after/);
  system.signal("SIGHUP");
  system.signal("SIGHUP"); // one restart at a time
  assert.equal(supervisor.state, "restarting");
  system.signal("SIGTERM");
  assert.equal(supervisor.state, "stopping");
  system.signal("SIGHUP"); // ignored while stopping, without a line
  assert.deepEqual(states(supervisor), ["1 draining", "2 draining"]);
  assert.equal(await done, 0);
  assert.equal(supervisor.lastRestart?.result, "stopped");
  assert.equal(system.lines.filter((l) => /SIGHUP/.test(l)).length, 2, system.lines.join("\n"));
  assert.ok(
    system.lines.includes("lameduck run: SIGHUP: a restart is already in progress; ignored"),
  );
});

test("starting -> stopping on SIGTERM before the first worker is ready", async () => {
  const system = new FakeSystem();
  const supervisor = new Supervisor(options(), system);
  const done = supervisor.run();
  system.signal("SIGHUP");
  assert.equal(supervisor.state, "starting", "a restart signal does not leave starting");
  system.signal("SIGTERM");
  assert.equal(supervisor.state, "stopping");
  assert.equal(await done, 0);
  for (
    const line of [
      "lameduck run: SIGHUP: the first worker is not ready yet; ignored",
      "lameduck run: SIGTERM: stopping worker 1 (pid 1001) before it is ready, and exiting",
    ]
  ) assert.ok(system.lines.includes(line), system.lines.join("\n"));
  assert.equal(system.lines.at(-1), "lameduck run: stopped before it was ready");
});

test("starting, when a first worker fails, stays there until every worker exited, then exits 1", async () => {
  const system = new FakeSystem();
  system.behaviours.set(1, "fail");
  const supervisor = new Supervisor(options({ workers: 2 }), system);
  const done = supervisor.run();
  await system.until(/giving up/);
  assert.equal(supervisor.state, "starting");
  assert.equal(await done, 1);
  assert.equal(supervisor.state, "starting");
});

test("the pid file is claimed and released through System; a refusal exits 2 with its line", async () => {
  const system = new FakeSystem();
  const done = new Supervisor(options({ pidFile: "/run/app.pid" }), system).run();
  await system.until(/ready after/);
  assert.deepEqual(system.pidFiles, ["claim /run/app.pid"]);
  system.signal("SIGTERM");
  assert.equal(await done, 0);
  assert.deepEqual(system.pidFiles, ["claim /run/app.pid", "release /run/app.pid"]);

  const held = new FakeSystem();
  held.claimPidFile = () => "--pid-file /run/app.pid is held by pid 7";
  assert.equal(await new Supervisor(options({ pidFile: "/run/app.pid" }), held).run(), 2);
  assert.deepEqual(held.lines, ["lameduck run: --pid-file /run/app.pid is held by pid 7"]);
  assert.equal(held.workers.length, 0);
});

test("a Deno worker's suggested flags name System's temporary directory", async () => {
  const system = new FakeSystem();
  system.tmpdir = () => "/fake/tmp";
  const command = ["deno", "run", "server.ts"];
  assert.equal(await new Supervisor(options({ command }), system).run(), 2);
  assert.match(system.lines[0]!, /--allow-read=\/fake\/tmp --allow-write=\/fake\/tmp/);
});
