/**
 * Contract cases: The listener closing after lameDuck, the drain deadline, and a second signal forcing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { now, RawConnection, rawRequest, type RuntimeName, sleep, tryConnect } from "./harness.ts";
import { exitOf, is, reportOf, withFixture } from "./support.ts";

/** Registers these cases for `runtime` (inside its describe block). */
export function deadlineCases(runtime: RuntimeName): void {
  // 5
  test("the listener closes after lameDuck: new connections are refused while a request is still in flight", async () => {
    await withFixture(runtime, { lameDuck: 500 }, async (fx) => {
      let exitedAt: number | undefined;
      fx.exited.then((e) => (exitedAt = e.atMs));
      const conn = await RawConnection.connect(fx.port);
      conn.send("GET", "/slow?ms=2500");
      await fx.waitFor(is("entered", "/slow"), 5_000, "/slow to be entered");
      const sigAt = fx.signal("SIGTERM");
      await sleep(100);
      const during = await rawRequest(fx.port, "GET", "/fast");
      during.conn.destroy();
      assert.equal(during.res.status, 200, "a new connection during lameDuck is served");
      assert.equal(
        during.res.headers.connection?.toLowerCase(),
        "close",
        "lameDuck responses say Connection: close",
      );
      assert.ok(during.res.doneAt - sigAt < 500, "test too slow: the lameDuck window had passed");
      let refusedAt: number | undefined;
      let last = "";
      while (now() - sigAt < 2_300) {
        last = await tryConnect(fx.port, 1_000);
        if (last === "ECONNREFUSED") {
          refusedAt = now();
          break;
        }
        await sleep(20);
      }
      assert.ok(
        refusedAt !== undefined,
        `never refused within 2.3 s of SIGTERM (last attempt: ${last})\n${fx.describe()}`,
      );
      assert.ok(
        refusedAt - sigAt >= 450,
        `refused ${
          (refusedAt - sigAt).toFixed(0)
        } ms after SIGTERM, before lameDuck (500 ms) ended`,
      );
      assert.equal(
        exitedAt,
        undefined,
        "the process had already exited: the refusal proves nothing",
      );
      const res = await conn.read({ timeoutMs: 5_000 });
      assert.ok(res.doneAt > refusedAt, "the in-flight request had already finished");
      assert.equal(res.status, 200);
      assert.equal(res.body, "slow done after 2500 ms");
      const exit = await exitOf(fx, 5_000);
      assert.equal(exit.code, 0, fx.describe());
    });
  });

  // 6
  test("a handler that never resolves is cut at drainTimeout 300: ctx.signal aborts, exit 1 within 800 ms", async () => {
    await withFixture(runtime, { drainTimeout: 300 }, async (fx) => {
      const conn = await RawConnection.connect(fx.port);
      conn.send("GET", "/never");
      await fx.waitFor(is("entered", "/never"), 5_000, "/never to be entered");
      const sigAt = fx.signal("SIGTERM");
      const exit = await exitOf(fx, 5_000);
      const ms = exit.atMs - sigAt;
      assert.equal(exit.code, 1, fx.describe());
      assert.ok(
        ms >= 290,
        `exited ${ms.toFixed(0)} ms after SIGTERM, before the 300 ms drainTimeout`,
      );
      assert.ok(
        ms < 800,
        `exited ${ms.toFixed(0)} ms after SIGTERM (drainTimeout 300 + 500 allowed)`,
      );
      assert.ok(
        fx.events.some(is("aborted", "/never")),
        `ctx.signal of /never did not abort\n${fx.describe()}`,
      );
      const report = reportOf(fx);
      assert.equal(report.graceful, false);
      assert.equal(report.aborted, 1);
      conn.destroy();
    });
  });

  // 7
  test("a second signal during the drain forces at once: exit 1 within 1 s of it (drainTimeout 10 s)", async () => {
    await withFixture(runtime, { drainTimeout: 10_000 }, async (fx) => {
      const conn = await RawConnection.connect(fx.port);
      conn.send("GET", "/never");
      await fx.waitFor(is("entered", "/never"), 5_000, "/never to be entered");
      const firstAt = fx.signal("SIGTERM");
      await sleep(300);
      assert.equal(
        fx.events.some((e) => e.event === "finished"),
        false,
        "the shutdown already finished",
      );
      const secondAt = fx.signal("SIGTERM");
      const exit = await exitOf(fx, 12_000);
      const ms = exit.atMs - secondAt;
      assert.equal(exit.code, 1, fx.describe());
      assert.ok(
        ms < 1_000,
        `exited ${ms.toFixed(0)} ms after the second signal (${
          (exit.atMs - firstAt).toFixed(0)
        } ms after the first)`,
      );
      assert.ok(
        fx.events.some(is("aborted", "/never")),
        `ctx.signal of /never did not abort\n${fx.describe()}`,
      );
      conn.destroy();
    });
  });
}
