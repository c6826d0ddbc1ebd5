/**
 * Contract cases: The listener closing after lameDuck, the drain deadline, and a second signal forcing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { now, PROMPT_MS, sleep } from "../shared/time.ts";
import { RawConnection, rawRequest, tryConnect } from "./client_raw_http.ts";
import type { RuntimeName } from "./runtimes.ts";
import { exitOf, withFixture } from "./fixture_process.ts";
import { is, reportOf } from "./fixture_events.ts";

/** Registers these cases for `runtime` (inside its describe block). */
export function deadlineCases(runtime: RuntimeName): void {
  // 5
  test("the listener closes after lameDuck: new connections are refused while a request is still in flight", async () => {
    await withFixture(runtime, { lameDuck: 1_500 }, async (fx) => {
      let exitedAt: number | undefined;
      fx.exited.then((e) => (exitedAt = e.atMs));
      const conn = await RawConnection.connect(fx.port);
      conn.send("GET", "/slow?ms=6000");
      await fx.waitFor(is("entered", "/slow"), 5_000, "/slow to be entered");
      const sigAt = fx.signal("SIGTERM");
      await fx.waitFor((e) => e.event === "log" && e.type === "draining", 5_000, "draining");
      const during = await rawRequest(fx.port, "GET", "/fast");
      during.conn.destroy();
      assert.equal(during.res.status, 200, "a new connection during lameDuck is served");
      assert.equal(
        during.res.headers.connection?.toLowerCase(),
        "close",
        "lameDuck responses say Connection: close",
      );
      let refusedAt: number | undefined;
      let last = "";
      while (now() - sigAt < 1_500 + PROMPT_MS) {
        last = await tryConnect(fx.port, 1_000);
        if (last === "ECONNREFUSED") {
          refusedAt = now();
          break;
        }
        await sleep(20);
      }
      assert.ok(
        refusedAt !== undefined,
        `never refused within 4.5 s of SIGTERM (last attempt: ${last})\n${fx.describe()}`,
      );
      assert.ok(
        refusedAt - sigAt >= 1_450,
        `refused ${
          (refusedAt - sigAt).toFixed(0)
        } ms after SIGTERM, before lameDuck (1500 ms) ended`,
      );
      assert.equal(
        exitedAt,
        undefined,
        "the process had already exited: the refusal proves nothing",
      );
      const res = await conn.read({ timeoutMs: 5_000 });
      assert.ok(res.doneAt > refusedAt, "the in-flight request had already finished");
      assert.equal(res.status, 200);
      assert.equal(res.body, "slow done after 6000 ms");
      const exit = await exitOf(fx, 10_000);
      assert.equal(exit.code, 0, fx.describe());
    });
  });

  // 6
  test("a handler that never resolves is cut at drainTimeout 300: ctx.signal aborts, exit 1 promptly after the deadline", async () => {
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
        ms < 300 + PROMPT_MS,
        `exited ${ms.toFixed(0)} ms after SIGTERM (drainTimeout 300 + ${PROMPT_MS} allowed)`,
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
  test("a second signal during the drain forces at once: exit 1 promptly, long before drainTimeout 10 s", async () => {
    await withFixture(runtime, { drainTimeout: 10_000 }, async (fx) => {
      const conn = await RawConnection.connect(fx.port);
      conn.send("GET", "/never");
      await fx.waitFor(is("entered", "/never"), 5_000, "/never to be entered");
      const firstAt = fx.signal("SIGTERM");
      await fx.waitFor((e) => e.event === "log" && e.type === "draining", 5_000, "draining");
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
        ms < PROMPT_MS,
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
