/**
 * `lameduck run --log json` and `lameduck status`'s answer, in-process with fakes: every
 * supervisor line is one JSON object in pino's shape naming the worker it is about; in text
 * every line about a worker names its id and pid; the status answer follows the supervisor's
 * state, workers and last restart.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { Supervisor } from "../../src/supervisor/supervisor.ts";
import type { StatusAnswer } from "../../src/supervisor/status.ts";
import { formatStatus } from "../../src/supervisor/status.ts";
import { FakeSystem, options } from "./supervisor_fakes.ts";

/** Starts 2 workers, restarts them (worker 4 fails: the restart fails), and stops. */
async function lifecycle(log: "text" | "json"): Promise<FakeSystem> {
  const system = new FakeSystem();
  system.behaviours.set(4, "fail");
  const done = new Supervisor(options({ workers: 2, log }), system).run();
  await system.until(/ready after/, 2);
  system.signal("SIGHUP");
  await system.until(/restart failed/);
  system.signal("SIGTERM");
  assert.equal(await done, 0);
  return system;
}

test("--log json: every line is a pino record; lines about a worker carry worker: { id, pid }", async () => {
  const system = await lifecycle("json");
  const records = system.lines.map((line) => JSON.parse(line));
  for (const r of records) {
    assert.equal(typeof r.level, "number");
    assert.equal(typeof r.time, "number");
    assert.equal(typeof r.msg, "string");
    assert.equal(r.name, "lameduck run");
    assert.equal(r.pid, 42);
    assert.equal(typeof r.event, "string");
    assert.ok(Math.abs(r.time - Date.now()) < 10_000, `${r.time}`);
    for (const w of r.worker ? [r.worker] : r.workers ?? []) {
      assert.deepEqual(w, { id: w.id, pid: 1000 + w.id }, r.msg);
    }
  }
  const find = (event: string) => records.filter((r) => r.event === event);
  assert.deepEqual(find("worker-ready").map((r) => r.worker), [
    { id: 1, pid: 1001 },
    { id: 2, pid: 1002 },
    { id: 3, pid: 1003 },
  ]);
  assert.equal(find("worker-ready")[0].msg.startsWith("worker 1 (pid 1001) ready after"), true);
  const [failed] = find("restart-failed");
  assert.equal(failed.level, 50);
  assert.equal(failed.signal, "SIGHUP");
  assert.equal(failed.reason, "worker 4 (pid 1004) exited 1 first");
  assert.deepEqual(failed.workers, [{ id: 3, pid: 1003 }, { id: 2, pid: 1002 }]);
  assert.deepEqual(find("worker-replaced")[0].by, { id: 3, pid: 1003 });
  assert.deepEqual(find("start")[0].socket, { host: "127.0.0.1", port: 4321, fd: 99 });
  assert.equal(find("handover")[0].mode, "fd");
  const exits = find("worker-exited");
  assert.ok(exits.length >= 3, JSON.stringify(exits));
  for (const e of exits) assert.deepEqual([e.code, e.signal], [0, null]);
  // The workers are asked for JSON lines too, and told their id.
  for (const w of system.workers) {
    assert.deepEqual(w.spec.env, {
      LAMEDUCK_WORKER_ID: `${w.generation}`,
      LAMEDUCK_LOG: "json",
    });
  }
});

test("--log text: every line about a worker names its id and pid", async () => {
  const system = await lifecycle("text");
  for (const line of system.lines) {
    assert.ok(line.startsWith("lameduck run: "), line);
    // "worker N started (pid P)" names it too.
    const bare = line.replace(/worker (\d+) started \(pid \d+\)/g, "")
      .match(/\bworker \d+(?! \(pid \d+\))/);
    assert.equal(bare, null, line);
    const list = /\bworkers ((?:\d+ \(pid \d+\)(?:, )?)+)/.exec(line);
    if (/\bworkers \d/.test(line)) assert.ok(list, line);
  }
  assert.ok(
    system.lines.includes(
      "lameduck run: restart failed: worker 4 (pid 1004) exited 1 first; workers 3 (pid 1003), " +
        "2 (pid 1002) keep serving",
    ),
    system.lines.join("\n"),
  );
  assert.ok(
    system.lines.includes(
      "lameduck run: SIGTERM: draining workers 3 (pid 1003), 2 (pid 1002) and exiting",
    ),
    system.lines.join("\n"),
  );
  for (const w of system.workers) {
    assert.deepEqual(w.spec.env, { LAMEDUCK_WORKER_ID: `${w.generation}` });
  }
});

test("the status answer: state, hand-over, workers (id, pid, state, ready since) and the last restart", async () => {
  const system = new FakeSystem();
  system.behaviours.set(1, "slow");
  const supervisor = new Supervisor(options(), system);
  const done = supervisor.run();
  const ask = () => system.status!() as StatusAnswer;
  assert.deepEqual(ask().workers, [{ id: 1, pid: 1001, state: "starting", readySince: null }]);
  assert.equal(ask().state, "starting");
  await system.until(/ready after/);
  const first = ask();
  assert.deepEqual(
    { ...first, workers: first.workers.map((w) => ({ ...w, readySince: typeof w.readySince })) },
    {
      pid: 42,
      state: "serving",
      handover: "fd",
      socket: { host: "127.0.0.1", port: 4321 },
      workers: [{ id: 1, pid: 1001, state: "ready", readySince: "string" }],
      lastRestart: null,
    },
  );
  assert.ok(Math.abs(Date.parse(first.workers[0]!.readySince!) - Date.now()) < 5_000);
  assert.match(
    formatStatus(first),
    /^lameduck run \(pid 42\): serving, socket 127\.0\.0\.1:4321, handover fd, 1 worker\n {2}worker 1 \(pid 1001\): ready since \S+Z \(0 s ago\)\nlast restart: none$/,
  );
  system.signal("SIGHUP");
  assert.equal(ask().state, "restarting");
  await system.until(/replaced by worker 2/);
  assert.deepEqual(ask().workers.map((w) => `${w.id} ${w.pid} ${w.state}`), [
    "1 1001 draining",
    "2 1002 ready",
  ]);
  await system.until(/restart done/);
  const after = ask();
  assert.deepEqual({
    ...after.lastRestart,
    startedAt: typeof after.lastRestart?.startedAt,
    durationMs: after.lastRestart!.durationMs >= 90,
  }, {
    signal: "SIGHUP",
    result: "done",
    reason: null,
    startedAt: "string",
    durationMs: true,
  });
  assert.match(
    formatStatus(after),
    /\nlast restart: SIGHUP at \S+Z \(0 s ago\), done after \d+ ms$/,
  );
  system.signal("SIGTERM");
  assert.equal(ask().state, "stopping");
  assert.equal(await done, 0);
  assert.equal(system.status, undefined, "it stops answering when it exits");
});
