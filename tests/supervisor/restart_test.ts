/**
 * The zero-downtime restart proof: `lameduck run` with Deno, Bun or Node workers, in each
 * hand-over mode that loses nothing on that runtime (`reuseport` inside a network namespace
 * of the test's own with `net.ipv4.tcp_migrate_req=1`), with 1 and 2 workers, 16 clients (8
 * opening a new connection per request, 8 keeping one pooled keep-alive connection each;
 * every 8th request slow) through 10 restarts, with the worker's default options (no
 * `lameDuck`); the same on Node with an Express and a Fastify worker (a framework's app as
 * `listener`). No request may fail, every
 * restart must complete, every generation must serve, and each old generation's in-flight slow
 * requests must complete. The negative controls must fail requests, showing the test can: a
 * naive stop-then-start restart of the same worker; and `reuseport`
 * forced with `tcp_migrate_req=0` on a worker whose listener is made to have a queue when it
 * closes (with its twin: the same with the sysctl at 1 loses nothing). Why the default worker
 * options lose nothing (the supervised `lameDuck` of 1000 ms) is shown in
 * `lameduck_default_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { binaryOf, ROOT, type RuntimeName } from "../contract/runtimes.ts";
import { sleep, within } from "../shared/time.ts";
import { forEachRuntime, forRuntime } from "../contract/runtime_selection.ts";
import { type Outcome, startLoad } from "./load.ts";
import { type ProofParams, type ProofResult, runProof, SLOW_MS } from "./proof.ts";

const WORKER = join(ROOT, "tests", "supervisor", "worker.ts");
const RESTARTS = 10;

/** Whether this process may create a network namespace (root and `unshare` present). */
const canUnshare = spawnSync("unshare", ["-n", "true"]).status === 0;

/**
 * Runs `proof.ts` inside a network namespace of its own with `net.ipv4.tcp_migrate_req` set
 * to `migrate` (the sysctl is per namespace: the machine's stays as it is).
 */
function proofInNamespace(params: ProofParams, migrate: 0 | 1): Promise<ProofResult> {
  const script = `ip link set lo up && echo ${migrate} > /proc/sys/net/ipv4/tcp_migrate_req && ` +
    `exec "$0" "$@"`;
  return proofInChild(["unshare", "-n", "sh", "-c", script], params);
}

/** Runs `proof.ts` in a process of its own, after `prefix` (e.g. `unshare -n ...`). */
async function proofInChild(prefix: string[], params: ProofParams): Promise<ProofResult> {
  const argv = [
    ...prefix,
    binaryOf("node"),
    join(ROOT, "tests", "supervisor", "proof.ts"),
    JSON.stringify(params),
  ];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (text: string) => (out += text));
  const code = await within(
    new Promise((resolve) => child.once("exit", resolve)),
    180_000,
    "the proof in its process",
  );
  const line = out.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  assert.ok(line, `the proof printed no result (exit ${code}): ${out}`);
  return JSON.parse(line) as ProofResult;
}

function check(t: TestContext, what: string, r: ProofResult, workers: number): void {
  const failed = r.failed["new connection per request"] + r.failed["pooled keep-alive"];
  t.diagnostic(
    `${what}: ${r.requests} requests, ${failed} failed (new connection per request ` +
      `${r.failed["new connection per request"]}, pooled keep-alive ` +
      `${r.failed["pooled keep-alive"]}), ${r.restartsDone} restarts, ` +
      `${r.workersServed}/${r.workersReady} workers served, old workers' slow requests ` +
      `completed per replacement: ${r.spanning.join(" ")}`,
  );
  assert.deepEqual(r.problems, [], r.log);
  assert.deepEqual(r.failures, [], `${failed} requests failed\n${r.log}`);
  assert.equal(r.restartsDone, RESTARTS, r.log);
  assert.equal(r.workersReady, workers * (RESTARTS + 1), r.log);
  assert.deepEqual(r.idle, [], `workers that served nothing\n${r.log}`);
  assert.equal(r.spanning.length, workers * RESTARTS, r.log);
  for (const [i, n] of r.spanning.entries()) {
    assert.ok(n > 0, `replacement ${i + 1}: no slow request of the old worker spanned it`);
  }
  assert.equal(r.exitCode, 0, r.log);
}

/** The modes that lose nothing on each runtime (Deno's reuseport does not: docs/restarts.md). */
const MODES: Record<RuntimeName, ("fd" | "reuseport")[]> = {
  deno: ["fd"],
  bun: ["fd", "reuseport"],
  node: ["fd", "reuseport"],
};

forEachRuntime("lameduck run", (runtime) => {
  describe(`lameduck run with ${runtime} workers, default worker options`, () => {
    for (const mode of MODES[runtime]) {
      for (const workers of [1, 2]) {
        const what = `${runtime}, --handover ${mode}, --workers ${workers}`;
        const skip = mode === "reuseport" && !canUnshare
          ? "needs root and unshare for a network namespace"
          : false;
        test(
          `${RESTARTS} restarts under 16 clients (8 new connection per request, 8 pooled keep-alive) fail no request: --handover ${mode} --workers ${workers}`,
          { skip },
          async (t) => {
            const params: ProofParams = {
              runtime,
              args: ["--handover", mode, "--workers", String(workers)],
              restarts: RESTARTS,
            };
            const result = mode === "fd"
              ? await runProof(params)
              : await proofInNamespace(params, 1);
            check(t, what, result, workers);
          },
        );
      }
    }
  });
});

/** Node workers serving a framework's app as `listener` (worker_express.ts, worker_fastify.ts). */
const FRAMEWORK_WORKERS = ["express", "fastify"] as const;

forRuntime("node", "lameduck run with Express and Fastify workers", () => {
  describe("lameduck run with Express and Fastify workers (Node, listener), default worker options", () => {
    for (const framework of FRAMEWORK_WORKERS) {
      for (const mode of MODES.node) {
        const skip = mode === "reuseport" && !canUnshare
          ? "needs root and unshare for a network namespace"
          : false;
        test(
          `${framework}: ${RESTARTS} restarts under 16 clients fail no request: --handover ${mode}`,
          { skip },
          async (t) => {
            const params: ProofParams = {
              runtime: "node",
              args: ["--handover", mode],
              restarts: RESTARTS,
              worker: join(ROOT, "tests", "supervisor", `worker_${framework}.ts`),
            };
            const result = mode === "fd"
              ? await runProof(params)
              : await proofInNamespace(params, 1);
            check(t, `${framework}, --handover ${mode}`, result, 1);
          },
        );
      }
    }
  });
});

/** Tries of the tcp_migrate_req=0 control, each of 5 restarts. */
const CONTROL_TRIES = 3;

for (const migrate of [0, 1] as const) {
  const what = migrate === 0
    ? "negative control: with tcp_migrate_req=0 (--force), connections queued on a closing reuseport listener are reset"
    : "its twin: the same stalled listener with tcp_migrate_req=1 loses nothing";
  test(what, { skip: canUnshare ? false : "needs root and unshare" }, async (t) => {
    // A Node worker that blocks its event loop for 300 ms just before its listener closes, so
    // connections queue on it (Node closes the listener before it accepts them again). Whether
    // a client connects into that queue is chance: with the sysctl at 0 a try of 5 restarts
    // lost 4-16 requests in 5 full test runs and none in a sixth, so the control gets up to
    // 3 tries (each a process of its own) to show a loss; the twin must lose nothing in its one.
    const tries = migrate === 0 ? CONTROL_TRIES : 1;
    let failed = 0;
    let r: ProofResult | undefined;
    for (let i = 1; i <= tries && failed === 0; i++) {
      r = await proofInNamespace({
        runtime: "node",
        args: ["--handover", "reuseport", "--force"],
        restarts: 5,
        env: { WORKER_STALL_MS: "300" },
      }, migrate);
      failed = r.failed["new connection per request"] + r.failed["pooled keep-alive"];
      const codes = [...new Set(r.failures.map((o) => o.error))].join(", ");
      t.diagnostic(
        `node, reuseport, stalled listener, tcp_migrate_req=${migrate}, try ${i}: ` +
          `${r.requests} requests, ${failed} failed (${codes || "none"})`,
      );
      assert.equal(r.restartsDone, 5, r.log);
    }
    if (migrate === 0) {
      assert.match(r!.log, /--force.*tcp_migrate_req=0/);
      assert.ok(
        failed > 0,
        `no request failed in ${tries} tries: the sysctl is not shown to matter`,
      );
    } else {
      assert.equal(failed, 0, `${JSON.stringify(r!.failures)}\n${r!.log}`);
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

/** How long before a naive restart's gap a reset may start (a request queued at listener close). */
const RESET_SLACK_MS = 500;

test("negative control: a naive stop-then-start restart of the same (graceful) worker refuses connections in every gap, and fails only at a gap (refused inside, or reset as its listener closes)", async (t) => {
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
    const failed = load.outcomes.filter((o: Outcome) => o.error !== undefined);
    const inGap = (o: Outcome) =>
      gaps.findIndex((g) => o.startedAt >= g.from && o.startedAt <= g.to);
    const refused = failed.filter((o) => o.error === "ECONNREFUSED");
    const perGap = gaps.map((_, i) => refused.filter((o) => inGap(o) === i).length);
    t.diagnostic(
      `naive restarts (node worker, 3 restarts): ${load.outcomes.length} requests, ` +
        `${failed.length} failed, ECONNREFUSED per gap: ${perGap.join(" ")}`,
    );
    // When the old listener closes, connections still in its kernel accept queue are reset
    // (ECONNRESET): a request started just before the SIGTERM can meet that. So a failure may
    // also be a reset, from RESET_SLACK_MS before a gap to its end; nothing fails elsewhere.
    const nearGap = (o: Outcome) =>
      gaps.some((g) => o.startedAt >= g.from - RESET_SLACK_MS && o.startedAt <= g.to);
    const other = failed.filter((o) =>
      o.error === "ECONNREFUSED" ? inGap(o) === -1 : o.error !== "ECONNRESET" || !nearGap(o)
    );
    assert.deepEqual(
      other.slice(0, 5).map((o) => ({ error: o.error, gap: inGap(o) })),
      [],
      `${other.length} failures that are neither a refusal inside a gap nor a reset at one`,
    );
    const resets = failed.length - refused.length;
    assert.ok(resets <= refused.length, `${resets} resets for ${refused.length} refusals`);
    for (const [i, n] of perGap.entries()) {
      assert.ok(n > 0, `gap ${i + 1} refused nothing: the proof could not fail there`);
    }
  } finally {
    worker.child.kill("SIGKILL");
  }
});
