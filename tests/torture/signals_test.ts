/**
 * Torture: signal edge cases on real Deno, Bun and Node processes: a signal before `ready`, two
 * signals 1 ms apart, SIGINT then SIGTERM, a signal after the server closed, and two servers in
 * one process sharing the signals.
 *
 * @module
 */

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { forEachRuntime } from "../contract/runtime_selection.ts";
import type { ShutdownReport } from "../../mod.ts";
import type { TortureConfig } from "../shared/fixture_config.ts";
import { PROMPT_MS, sleep, within } from "../shared/time.ts";
import { type Fixture, killLeftovers } from "../contract/fixture_process.ts";
import { exchange, exitOf, get, launch, withFixture } from "./helpers.ts";

function reportOf(fx: Fixture, server = 0): ShutdownReport {
  const line = fx.events.find((e) => e.event === "finished" && e.server === server);
  assert.ok(line, `no finished line for server ${server}\n${fx.describe()}`);
  return line.report as ShutdownReport;
}

/** Starts `/slow?ms=8000` and waits until its handler runs: a drain would take 8 s. */
async function holdSlow(fx: Fixture): Promise<void> {
  void exchange(fx.port, get("/slow?ms=8000"), { ms: 12_000 });
  await fx.waitFor((e) => e.event === "entered", 5_000, "/slow to be entered");
}

forEachRuntime("torture: signals", (runtime) => {
  describe(`torture: signal edge cases on ${runtime}`, () => {
    after(killLeftovers);

    test("a SIGTERM already pending when serve() is called: ready still resolves, the server drains and exits 0", async () => {
      const fx = await launch(runtime, { selfSignal: "SIGTERM" });
      try {
        const exit = await exitOf(fx, 10_000);
        const order = fx.events.filter((e) => e.event === "log").map((e) => e.type).join(" → ");
        console.log(`# ${runtime}: signal while starting: ${order}`);
        assert.equal(exit.code, 0, fx.describe());
        const report = reportOf(fx);
        assert.equal(report.reason, "SIGTERM");
        assert.equal(report.graceful, true);
      } finally {
        fx.kill();
      }
    });

    test("two SIGTERMs 1 ms apart: the second forces the drain, exit 1 at once", async () => {
      const outcomes: string[] = [];
      // The kernel merges a signal that is still pending with the next one of the same kind:
      // retry (bounded) until the fixture saw both.
      for (let attempt = 1; attempt <= 3; attempt++) {
        const fx = await launch(runtime, { traceSignals: ["SIGTERM"], drainTimeout: 10_000 });
        try {
          await holdSlow(fx);
          const sent = fx.signal("SIGTERM");
          await sleep(1);
          fx.signal("SIGTERM");
          const exit = await exitOf(fx, 15_000);
          const seen = fx.events.filter((e) => e.event === "signal").length;
          const took = exit.atMs - sent;
          outcomes.push(
            `attempt ${attempt}: ${seen} delivered, exit ${exit.code} after ${took.toFixed(0)} ms`,
          );
          if (seen < 2) continue;
          console.log(`# ${runtime}: ${outcomes.join("; ")}`);
          assert.equal(exit.code, 1, fx.describe());
          assert.ok(took < PROMPT_MS, `exit ${took.toFixed(0)} ms after the first SIGTERM`);
          assert.equal(reportOf(fx).graceful, false);
          return;
        } finally {
          fx.kill();
        }
      }
      assert.fail(`the two signals were never both delivered: ${outcomes.join("; ")}`);
    });

    test("SIGINT then SIGTERM: the SIGTERM forces the drain SIGINT started, exit 1 at once", async () => {
      await withFixture(runtime, { drainTimeout: 10_000 }, async (fx) => {
        await holdSlow(fx);
        fx.signal("SIGINT");
        await fx.waitFor((e) => e.type === "draining", 5_000, "the draining event");
        await sleep(200);
        const sent = fx.signal("SIGTERM");
        const exit = await exitOf(fx, 15_000);
        assert.equal(exit.code, 1, fx.describe());
        assert.ok(
          exit.atMs - sent < PROMPT_MS,
          `exit ${(exit.atMs - sent).toFixed(0)} ms after SIGTERM`,
        );
        const report = reportOf(fx);
        assert.equal(report.reason, "SIGINT");
        assert.equal(report.graceful, false);
      });
    });

    // DESIGN.md: "Listeners are removed when the server closes"; RUNTIMES.md: removing the last
    // listener restores the default action, which for SIGTERM is to terminate the process.
    test("with exit: false the process outlives the shutdown; a SIGTERM after the server closed gets the default action", async () => {
      await withFixture(runtime, { exit: false, stayAlive: 10_000 }, async (fx) => {
        fx.signal("SIGTERM");
        await fx.waitFor((e) => e.event === "all-finished", 5_000, "the server to close");
        // Give an exit that should not happen a whole second to show up.
        const alive = await Promise.race([
          fx.exited.then(() => "exited"),
          sleep(1_000).then(() => "alive"),
        ]);
        assert.equal(alive, "alive", `exit: false, yet the process exited\n${fx.describe()}`);
        const sent = fx.signal("SIGTERM");
        const exit = await exitOf(fx, 5_000);
        console.log(
          `# ${runtime}: SIGTERM after close: code ${exit.code}, signal ${exit.signal}, ${
            (exit.atMs - sent).toFixed(0)
          } ms`,
        );
        assert.equal(exit.signal, "SIGTERM", `not terminated by the signal\n${fx.describe()}`);
        assert.equal(fx.events.filter((e) => e.type === "draining").length, 1);
      });
    });

    test("two servers in one process share the signals: both drain, then one exit with the worst code", async () => {
      const config: TortureConfig = {
        servers: 2,
        drainTimeout: 5_000,
        hooks: [{ server: 0, name: "fails", kind: "throw" }],
      };
      await withFixture(runtime, config, async (fx) => {
        const ready = fx.events.find((e) => e.event === "ready");
        const [first, second] = ready?.ports as number[];
        const clients = [
          exchange(first!, get("/slow?ms=500"), { ms: 10_000 }),
          exchange(second!, get("/slow?ms=2000"), { ms: 10_000 }),
        ];
        await within(
          (async () => {
            while (fx.events.filter((e) => e.event === "entered").length < 2) await sleep(20);
          })(),
          5_000,
          "both handlers to be entered",
        );
        fx.signal("SIGTERM");
        const exit = await exitOf(fx, 15_000);
        const [a, b] = await Promise.all(clients);
        assert.equal(a!.status, 200, `server 0's request: ${a!.end}`);
        assert.equal(b!.status, 200, `server 1's request: ${b!.end}`);
        assert.match(a!.text + b!.text, /connection: close[^]*connection: close/i);
        const zero = reportOf(fx, 0);
        const one = reportOf(fx, 1);
        assert.equal(zero.hooks[0]?.ok, false, "server 0's hook failed");
        assert.equal(one.graceful, true);
        const lastFinished = Math.max(
          ...fx.events.filter((e) => e.event === "finished").map((e) => e.at),
        );
        assert.ok(exit.atMs >= lastFinished, "the process exited before server 1 closed");
        assert.equal(exit.code, 1, `the worst code (server 0's failed hook)\n${fx.describe()}`);
        assert.equal(fx.events.filter((e) => e.type === "draining").length, 2);
      });
    });
  });
});
