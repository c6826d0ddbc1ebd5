/**
 * The zero-downtime restart proof: `lameduck run` with a Deno, Bun or Node worker, 16 clients
 * (new connection per request, then pooled keep-alive; every 8th request slow) through 10
 * restarts. No request may fail, every restart must complete, every generation must serve,
 * and each old generation's in-flight slow requests must complete. The negative control, a
 * naive stop-then-start restart of the same worker, must refuse connections in each of its
 * gaps and fail nothing else: it shows the test can fail, and for the reason it claims.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { binaryOf, ROOT, type RuntimeName, sleep, within } from "../contract/harness.ts";
import { forEachRuntime } from "../contract/selection.ts";
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

  constructor(runtime: RuntimeName) {
    this.child = spawn(
      binaryOf("node"),
      [CLI, "run", "--port", "0", "--host", "127.0.0.1", "--", ...workerCommand(runtime)],
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, WORKER_LAME_DUCK: "300" } },
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

forEachRuntime("lameduck run", (runtime) => {
  describe(`lameduck run with a ${runtime} worker`, () => {
    for (const mode of ["new connection per request", "pooled keep-alive"] as const) {
      test(`10 restarts under 16 clients (${mode}) fail no request`, async (t) => {
        await restartProof(t, runtime, mode);
      });
    }
  });
});

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

test("negative control: a naive stop-then-start restart of the same (graceful) worker refuses connections in every gap, and fails nothing outside them", async (t) => {
  const port = await freePort();
  let worker = startNaive(port);
  try {
    await worker.ready;
    const load = startLoad(port, 16, "new connection per request", SLOW_MS);
    await sleep(300);
    // Each gap: from the SIGTERM to the old worker until the new one is ready. The old worker
    // drains gracefully, so outside the gaps nothing may fail, and inside them a new connection
    // can only be refused.
    const gaps: { from: number; to: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const old = worker.child;
      const exited = new Promise((resolve) => old.once("exit", resolve));
      const from = performance.now();
      old.kill("SIGTERM");
      await within(exited, 10_000, "the old worker to exit");
      worker = startNaive(port);
      await worker.ready;
      gaps.push({ from, to: performance.now() });
      await sleep(200);
    }
    await load.stop();
    const { failed } = summary(load.outcomes);
    const inGap = (o: Outcome) =>
      gaps.findIndex((g) => o.startedAt >= g.from && o.startedAt <= g.to);
    const refused = failed.filter((o) => o.error === "ECONNREFUSED");
    const perGap = gaps.map((_, i) => refused.filter((o) => inGap(o) === i).length);
    t.diagnostic(
      `naive restarts (node worker, 3 restarts): ${load.outcomes.length} requests, ` +
        `${failed.length} failed, ECONNREFUSED per gap: ${perGap.join(" ")}, ` +
        `ECONNRESET: ${failed.filter((o) => o.error === "ECONNRESET").length}`,
    );
    // A connection still queued on the old listener when it closes is reset: ECONNRESET,
    // ending inside the gap though it may have started just before it.
    const endsInGap = (o: Outcome) => gaps.some((g) => o.endedAt >= g.from && o.endedAt <= g.to);
    const reset = failed.filter((o) => o.error === "ECONNRESET");
    const other = failed.filter((o) =>
      !((o.error === "ECONNREFUSED" && inGap(o) >= 0) || (o.error === "ECONNRESET" && endsInGap(o)))
    );
    assert.deepEqual(
      other.slice(0, 5).map((o) => ({ error: o.error, gap: inGap(o) })),
      [],
      `${other.length} failures that are neither a refusal nor a reset inside a gap`,
    );
    assert.ok(reset.length < refused.length, `${reset.length} resets, ${refused.length} refusals`);
    for (const [i, n] of perGap.entries()) {
      assert.ok(n > 0, `gap ${i + 1} refused nothing: the proof could not fail there`);
    }
  } finally {
    worker.child.kill("SIGKILL");
  }
});
