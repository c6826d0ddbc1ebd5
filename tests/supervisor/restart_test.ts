/**
 * The zero-downtime restart proof: `lameduck run` with a Deno, Bun or Node worker, 16 clients
 * (new connection per request, then pooled keep-alive; every 8th request slow) through 10
 * restarts, with the worker's default options (no `lameDuck`). No request may fail, every
 * restart must complete, every generation must serve, and each old generation's in-flight slow
 * requests must complete. The negative controls must fail requests, showing the test can: a
 * naive stop-then-start restart of the same worker, and a worker with an explicit
 * `lameDuck: 0` (which wins over `lameduck run`'s default) under pooled keep-alive clients.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import {
  binaryOf,
  ROOT,
  type RuntimeName,
  selectedRuntimes,
  sleep,
  within,
} from "../contract/harness.ts";
import { type Mode, type Outcome, startLoad } from "./load.ts";

const CLI = join(ROOT, "src", "supervisor", "cli.ts");
const WORKER = join(ROOT, "tests", "supervisor", "worker.ts");
const RESTARTS = 10;
const SLOW_MS = 400;

/** The command that runs the worker on `runtime`. */
function workerCommand(runtime: RuntimeName): string[] {
  return runtime === "deno" ? [binaryOf("deno"), "run", "-A", WORKER] : [binaryOf(runtime), WORKER];
}

/** A running `lameduck run`, with what its log said. */
class Supervisor {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  port = 0;
  /** Each generation's PID and when it reported ready (test clock). */
  readonly ready: { pid: number; at: number }[] = [];
  restartsDone = 0;
  readonly problems: string[] = [];
  log = "";
  #waiters: (() => void)[] = [];

  constructor(runtime: RuntimeName, env: Record<string, string> = {}, args: string[] = []) {
    this.child = spawn(
      binaryOf("node"),
      [CLI, "run", "--port", "0", "--host", "127.0.0.1", ...args, "--", ...workerCommand(runtime)],
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } },
    );
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
    let pending = "";
    this.child.stderr!.setEncoding("utf8");
    this.child.stderr!.on("data", (text: string) => {
      this.log += text;
      const lines = (pending + text).split("\n");
      pending = lines.pop()!;
      for (const line of lines) this.#onLine(line);
    });
  }

  #onLine(line: string): void {
    const socket = / socket 127\.0\.0\.1:(\d+) /.exec(line);
    if (socket) this.port = Number(socket[1]);
    const ready = /worker \d+ \(pid (\d+)\) ready after/.exec(line);
    if (ready) this.ready.push({ pid: Number(ready[1]), at: performance.now() });
    if (/restart done/.test(line)) this.restartsDone++;
    if (/restart failed|unexpectedly|cannot/.test(line)) this.problems.push(line);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Resolves once `predicate` holds (checked after every log line). */
  async until(predicate: () => boolean, what: string, ms = 20_000): Promise<void> {
    const check = async () => {
      while (!predicate()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    };
    await within(check(), ms, `${what}\nsupervisor log:\n${this.log}`);
  }
}

function summary(outcomes: Outcome[]): { failed: Outcome[]; byPid: Map<number, number> } {
  const failed = outcomes.filter((o) => o.error !== undefined);
  const byPid = new Map<number, number>();
  for (const o of outcomes) if (o.pid) byPid.set(o.pid, (byPid.get(o.pid) ?? 0) + 1);
  return { failed, byPid };
}

async function restartProof(t: TestContext, runtime: RuntimeName, mode: Mode): Promise<void> {
  const sup = new Supervisor(runtime);
  try {
    await sup.until(() => sup.ready.length === 1, "the first worker to be ready");
    const load = startLoad(sup.port, 16, mode, SLOW_MS);
    await sleep(300);
    for (let i = 1; i <= RESTARTS; i++) {
      sup.child.kill("SIGHUP");
      await sup.until(() => sup.restartsDone === i || sup.problems.length > 0, `restart ${i}`);
      assert.deepEqual(sup.problems, [], sup.log);
      await sleep(150);
    }
    await sleep(300);
    await load.stop();
    sup.child.kill("SIGTERM");
    assert.equal(await within(sup.exited, 15_000, "the supervisor to exit"), 0, sup.log);

    const { failed, byPid } = summary(load.outcomes);
    // A slow request that was in flight when its generation was replaced (the next one's
    // READY is when the old one gets SIGTERM) and that still completed.
    const spanning = sup.ready.slice(1).map(({ at }, i) =>
      load.outcomes.filter((o) =>
        o.slow && o.pid === sup.ready[i]!.pid && o.startedAt < at && o.endedAt > at
      ).length
    );
    t.diagnostic(
      `${runtime}, ${mode}: ${load.outcomes.length} requests, ${failed.length} failed, ` +
        `${sup.restartsDone} restarts, ${byPid.size} generations served, ` +
        `old generations' slow requests completed per restart: ${spanning.join(" ")}`,
    );
    assert.deepEqual(failed.slice(0, 5), [], `${failed.length} requests failed`);
    assert.equal(sup.restartsDone, RESTARTS);
    assert.equal(sup.ready.length, RESTARTS + 1);
    for (const { pid } of sup.ready) {
      assert.ok(byPid.has(pid), `generation pid ${pid} served nothing: ${[...byPid]}`);
    }
    for (const [i, n] of spanning.entries()) {
      assert.ok(n > 0, `restart ${i + 1}: no slow request of the old generation spanned it`);
    }
  } finally {
    sup.child.kill("SIGKILL");
  }
}

for (const runtime of selectedRuntimes() as RuntimeName[]) {
  describe(`lameduck run with a ${runtime} worker`, () => {
    for (const mode of ["new connection per request", "pooled keep-alive"] as const) {
      test(`10 restarts under 16 clients (${mode}) fail no request`, async (t) => {
        await restartProof(t, runtime, mode);
      });
    }
  });
}

/** A port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts the worker on its own port; resolves once it printed its ready line. */
function startNaive(port: number): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(binaryOf("node"), [WORKER], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, WORKER_PORT: String(port) },
  });
  const ready = new Promise<void>((resolve) => {
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (text: string) => text.includes('"ready"') && resolve());
  });
  return { child, ready: within(ready, 10_000, "the naive worker to be ready") };
}

test("negative control: an explicit lameDuck: 0 wins, and pooled keep-alive clients then lose requests", async (t) => {
  const sup = new Supervisor("node", { WORKER_LAME_DUCK: "0" });
  try {
    await sup.until(() => sup.ready.length === 1, "the first worker to be ready");
    const load = startLoad(sup.port, 16, "pooled keep-alive", SLOW_MS);
    await sleep(300);
    for (let i = 1; i <= 5; i++) {
      sup.child.kill("SIGHUP");
      await sup.until(() => sup.restartsDone === i || sup.problems.length > 0, `restart ${i}`);
      await sleep(150);
    }
    await load.stop();
    sup.child.kill("SIGTERM");
    await within(sup.exited, 15_000, "the supervisor to exit");
    const { failed } = summary(load.outcomes);
    t.diagnostic(
      `lameDuck: 0, 5 restarts: ${load.outcomes.length} requests, ${failed.length} failed`,
    );
    assert.ok(
      failed.length > 0,
      "no request failed with lameDuck: 0: the default is not shown to matter",
    );
  } finally {
    sup.child.kill("SIGKILL");
  }
});

test("negative control: a naive stop-then-start restart of the same (graceful) worker fails requests", async (t) => {
  const port = await freePort();
  let worker = startNaive(port);
  try {
    await worker.ready;
    const load = startLoad(port, 16, "new connection per request", SLOW_MS);
    await sleep(300);
    for (let i = 0; i < 3; i++) {
      const old = worker.child;
      const exited = new Promise((resolve) => old.once("exit", resolve));
      old.kill("SIGTERM");
      await within(exited, 10_000, "the old worker to exit");
      worker = startNaive(port);
      await worker.ready;
      await sleep(200);
    }
    await load.stop();
    const { failed } = summary(load.outcomes);
    const codes = [...new Set(failed.map((o) => o.error))].join(", ");
    t.diagnostic(
      `naive restarts (node worker, 3 restarts): ${load.outcomes.length} requests, ` +
        `${failed.length} failed (${codes})`,
    );
    assert.ok(failed.length > 0, "a naive restart failed no request: the proof could not fail");
  } finally {
    worker.child.kill("SIGKILL");
  }
});
