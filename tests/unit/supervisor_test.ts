/**
 * `lameduck run`'s supervisor in-process: fake workers, signals, sysctl and socket through
 * {@linkcode System}, so the edge cases run in milliseconds and exactly (the real-process
 * proofs are in `tests/supervisor/`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { RunOptions } from "../../src/supervisor/args.ts";
import { chooseHandover } from "../../src/supervisor/handover.ts";
import { supervise } from "../../src/supervisor/supervisor.ts";
import { FakeSystem, type FakeWorker, options, sleep } from "./supervisor_fakes.ts";

test("--workers auto starts one worker per CPU, each with the socket as fd 3", async () => {
  const system = new FakeSystem();
  const done = supervise(options({ workers: "auto" }), system);
  await system.until(/ready after/, 3);
  assert.equal(system.workers.length, 3);
  for (const w of system.workers) assert.equal(w.spec.fd, 99);
  assert.deepEqual(system.notified.at(-1), ["READY=1", "STATUS=workers 1, 2, 3 serving"]);
  system.signal("SIGTERM");
  assert.equal(await done, 0);
  for (const w of system.workers) assert.deepEqual(w.signals, ["SIGTERM"]);
});

test("a restart replaces workers one at a time and never has fewer than N ready", async () => {
  const system = new FakeSystem();
  const terminated = new Set<FakeWorker>();
  let lowest = Infinity;
  system.onKill = (worker, signal) => {
    if (signal !== "SIGTERM") return;
    terminated.add(worker);
    const ready = system.workers.filter((w) => w.isReady && !w.done && !terminated.has(w));
    lowest = Math.min(lowest, ready.length);
  };
  const done = supervise(options({ workers: 3 }), system);
  await system.until(/ready after/, 3);
  system.signal("SIGHUP");
  await system.until(/restart done/);
  // Each replacement started only after the previous one was ready.
  const order = system.lines.filter((l) => /worker [4-6] (started|\(pid \d+\) ready)/.test(l));
  assert.deepEqual(
    order.map((l) => l.replace(/ \(pid \d+\)| after \d+ ms/g, "")),
    [4, 5, 6].flatMap((
      g,
    ) => [`lameduck run: worker ${g} started`, `lameduck run: worker ${g} ready`]),
  );
  assert.equal(lowest, 3);
  system.onKill = () => {};
  system.signal("SIGTERM");
  assert.equal(await done, 0);
});

test("a restart that fails at one worker stops there; the others keep serving", async () => {
  const system = new FakeSystem();
  system.behaviours.set(5, "fail");
  const done = supervise(options({ workers: 3 }), system);
  await system.until(/ready after/, 3);
  system.signal("SIGHUP");
  await system.until(/restart failed/);
  assert.ok(
    system.lines.includes(
      "lameduck run: restart failed: worker 5 (pid 1005) exited 1 first; workers 4 (pid 1004), " +
        "2 (pid 1002), 3 (pid 1003) keep serving",
    ),
    system.lines.join("\n"),
  );
  assert.deepEqual(system.workers[1]!.signals, []);
  assert.deepEqual(system.workers[2]!.signals, []);
  // The next restart goes on from there.
  system.signal("SIGHUP");
  await system.until(/restart done/);
  system.signal("SIGTERM");
  assert.equal(await done, 0);
});

test("a new worker not ready within --ready-timeout is stopped; SIGHUP during a restart is ignored", async () => {
  const system = new FakeSystem();
  system.behaviours.set(2, "hang");
  const done = supervise(options({ readyTimeout: 50 }), system);
  await system.until(/ready after/);
  system.signal("SIGHUP");
  system.signal("SIGHUP");
  await system.until(
    /restart failed: worker 2 \(pid \d+\) not ready after 50 ms \(it never connected.*\); worker 1 \(pid 1001\) keeps serving/,
  );
  assert.ok(
    system.lines.includes("lameduck run: SIGHUP: a restart is already in progress; ignored"),
  );
  assert.deepEqual(system.workers[1]!.signals, ["SIGTERM"]);
  system.signal("SIGTERM");
  assert.equal(await done, 0);
});

test("--stop-timeout: SIGKILL for a worker that ignores SIGTERM; later restarts go ahead", async () => {
  const system = new FakeSystem();
  system.behaviours.set(1, "stubborn");
  const done = supervise(options({ stopTimeout: 150 }), system);
  await system.until(/ready after/);
  system.signal("SIGHUP");
  await system.until(/replaced by worker 2/);
  system.signal("SIGHUP");
  await system.until(/worker 3 \(pid \d+\) ready/);
  assert.equal(system.workers[0]!.done, false, "worker 1 still runs: the restart did not wait");
  await system.until(
    /worker 1 \(pid 1001\) still running 150 ms after SIGTERM \(--stop-timeout\): SIGKILL/,
  );
  await system.until(/worker 1 \(pid 1001\) killed by SIGKILL/);
  assert.deepEqual(system.workers[0]!.signals, ["SIGTERM", "SIGKILL"]);
  system.signal("SIGTERM");
  assert.equal(await done, 0);
});

test("a worker that dies is replaced with a growing backoff", async () => {
  const system = new FakeSystem();
  system.behaviours.set(3, "fail");
  system.behaviours.set(4, "fail");
  const done = supervise(options({ workers: 2 }), system);
  await system.until(/ready after/, 2);
  system.workers[0]!.exit(7, null);
  await system.until(/worker 5 \(pid \d+\) ready/);
  const delays = system.lines.flatMap((l) => /replacing it in (\d+) ms/.exec(l)?.[1] ?? []);
  assert.deepEqual(delays, ["100", "200", "400"]);
  assert.ok(
    system.lines.includes(
      "lameduck run: worker 1 (pid 1001) exited 7 unexpectedly; replacing it in 100 ms " +
        "(serving: worker 2 (pid 1002))",
    ),
    system.lines.join("\n"),
  );
  system.signal("SIGTERM");
  assert.equal(await done, 0);
});

test("stopping: a second signal is forwarded; the exit code is the workers' worst", async () => {
  const system = new FakeSystem();
  system.behaviours.set(1, "stubborn");
  const done = supervise(options(), system);
  await system.until(/ready after/);
  system.signal("SIGTERM");
  system.signal("SIGINT");
  assert.deepEqual(system.workers[0]!.signals, ["SIGTERM", "SIGTERM"]);
  system.workers[0]!.exit(1, null);
  assert.equal(await done, 1);
  assert.deepEqual(system.notified.at(-1), ["STOPPING=1", "STATUS=draining"]);
});

test("a first generation that cannot start: every worker is stopped and the supervisor exits 1", async () => {
  const system = new FakeSystem();
  system.behaviours.set(2, "fail");
  assert.equal(await supervise(options({ workers: 2 }), system), 1);
  assert.match(system.lines.at(-1)!, /worker 2 \(pid 1002\) exited 1 first; giving up/);
  assert.deepEqual(system.workers[0]!.signals, ["SIGTERM"]);
});

test("reuseport: refused with the sysctl named unless forced; workers get the address", async () => {
  const system = new FakeSystem();
  assert.equal(await supervise(options({ handover: "reuseport" }), system), 2);
  assert.match(system.lines[0]!, /net\.ipv4\.tcp_migrate_req=0/);
  assert.equal(system.workers.length, 0);

  const ok = new FakeSystem();
  ok.migrate = "1";
  const done = supervise(options({ handover: "reuseport" }), ok);
  await ok.until(/ready after/);
  assert.equal(ok.workers[0]!.spec.fd, undefined);
  assert.deepEqual(ok.workers[0]!.spec.env, {
    LAMEDUCK_HANDOVER: "reuseport",
    LAMEDUCK_HOST: "127.0.0.1",
    LAMEDUCK_PORT: "4321",
    LAMEDUCK_WORKER_ID: "1",
  });
  ok.signal("SIGTERM");
  assert.equal(await done, 0);
});

test("chooseHandover(): auto picks reuseport only for Bun with tcp_migrate_req=1", () => {
  const c = (handover: RunOptions["handover"], program: string, migrate?: string, force = false) =>
    chooseHandover({ handover, force, command: [program, "x.ts"] }, migrate, false);
  assert.equal(c("auto", "/usr/bin/bun", "1").mode, "reuseport");
  assert.equal(c("auto", "bun", "0").mode, "fd");
  assert.match(c("auto", "bun", "0").line, /tcp_migrate_req=0/);
  assert.equal(c("auto", "deno", "1").mode, "fd");
  assert.equal(c("auto", "node", "1").mode, "fd");
  assert.equal(c("reuseport", "deno", "1").refused, undefined);
  assert.match(c("reuseport", "bun", undefined).refused!, /tcp_migrate_req is missing/);
  assert.equal(c("reuseport", "bun", "0", true).refused, undefined);
  assert.match(c("reuseport", "bun", "0", true).line, /--force/);
  const inherited = chooseHandover(
    { handover: "reuseport", force: true, command: ["bun"] },
    "1",
    true,
  );
  assert.match(inherited.refused!, /systemd/);
});

test("a worker that dies while its replacement starts: the replacement takes its place, no other", async () => {
  const system = new FakeSystem();
  const done = supervise(options(), system);
  await system.until(/ready after/);
  system.signal("SIGHUP");
  system.workers[0]!.exit(9, null);
  await system.until(/restart done/);
  await sleep(250); // past the 100 ms backoff that the death scheduled
  assert.equal(system.workers.length, 2, system.lines.join("\n"));
  assert.ok(system.lines.some((l) => /worker 1 \(pid 1001\) exited 9 unexpectedly/.test(l)));
  assert.deepEqual(system.workers[1]!.signals, []);
  system.signal("SIGTERM");
  assert.equal(await done, 0);
});

test("SIGTERM just after a restart does not signal the old workers still draining again", async () => {
  const system = new FakeSystem();
  system.behaviours.set(1, "slow"); // drains for 100 ms after its SIGTERM
  const done = supervise(options(), system);
  await system.until(/ready after/);
  system.signal("SIGHUP");
  await system.until(/replaced by worker 2/);
  system.signal("SIGTERM");
  assert.equal(system.workers[0]!.done, false, "worker 1 was still draining");
  assert.equal(await done, 0);
  assert.deepEqual(system.workers[0]!.signals, ["SIGTERM"], "one SIGTERM: its drain is not forced");
  assert.deepEqual(system.workers[1]!.signals, ["SIGTERM"]);
  // A second signal to the supervisor still forces every worker, the draining one too.
  const again = new FakeSystem();
  again.behaviours.set(1, "slow");
  const stopped = supervise(options(), again);
  await again.until(/ready after/);
  again.signal("SIGHUP");
  await again.until(/replaced by worker 2/);
  again.signal("SIGTERM");
  again.signal("SIGTERM");
  assert.equal(await stopped, 0);
  assert.deepEqual(again.workers[0]!.signals, ["SIGTERM", "SIGTERM"]);
});
