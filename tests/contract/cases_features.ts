/**
 * Contract cases: Readiness, hooks, maxInFlight and client disconnects.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { HookSpec } from "../shared/fixture_config.ts";
import { now, PROMPT_MS, sleep } from "../shared/time.ts";
import { RawConnection, rawRequest } from "./client_raw_http.ts";
import type { RuntimeName } from "./runtimes.ts";
import { exitOf, withFixture } from "./fixture_process.ts";
import { is, reportOf } from "./fixture_events.ts";

/** Registers these cases for `runtime` (inside its describe block). */
export function featureCases(runtime: RuntimeName): void {
  // 8
  test("readiness answers 200, then 503 (GET and HEAD) during lameDuck while normal requests still get 200", async () => {
    await withFixture(
      runtime,
      { readiness: "/readyz", lameDuck: 2_000, trace: true },
      async (fx) => {
        const get = async (method: string, path: string) => {
          const { conn, res } = await rawRequest(fx.port, method, path);
          conn.destroy();
          return res;
        };
        const ready = await get("GET", "/readyz");
        assert.equal(ready.status, 200, "GET /readyz while serving");
        const readyHead = await get("HEAD", "/readyz");
        assert.equal(readyHead.status, 200, "HEAD /readyz while serving");
        assert.equal((await get("GET", "/fast")).status, 200);

        const sigAt = fx.signal("SIGTERM");
        await fx.waitFor((e) => e.event === "log" && e.type === "draining", 5_000, "draining");
        // Served, not refused: the listener is still open, so this is the lame-duck window.
        const notReady = await get("GET", "/readyz");
        const notReadyHead = await get("HEAD", "/readyz");
        const fast = await get("GET", "/fast");
        assert.equal(notReady.status, 503, "GET /readyz during lameDuck");
        assert.equal(notReadyHead.status, 503, "HEAD /readyz during lameDuck");
        assert.equal(fast.status, 200, "GET /fast during lameDuck");
        assert.equal(fast.body, "fast");
        assert.equal(
          fast.headers.connection?.toLowerCase(),
          "close",
          "lameDuck responses say Connection: close",
        );

        const exit = await exitOf(fx, 5_000);
        assert.equal(exit.code, 0, fx.describe());
        const ms = exit.atMs - sigAt;
        assert.ok(
          ms >= 1_950,
          `exited ${ms.toFixed(0)} ms after SIGTERM, before lameDuck (2000 ms) ended`,
        );
        const fetched = fx.events.filter((e) => e.event === "fetch").map((e) => e.path as string);
        assert.ok(fetched.includes("/fast"), "trace shows /fast reached fetch (control)");
        assert.deepEqual(
          fetched.filter((p) => p.startsWith("/readyz")),
          [],
          "readiness must not call fetch",
        );
      },
    );
  });

  // 9a
  test("hooks run after the drain, last registered first; all succeed: exit 0", async () => {
    const hooks = [{ name: "first" }, { name: "second", ms: 50 }, { name: "third" }];
    await withFixture(runtime, { hooks }, async (fx) => {
      const conn = await RawConnection.connect(fx.port);
      conn.send("GET", "/slow?ms=400");
      await fx.waitFor(is("entered", "/slow"), 5_000, "/slow to be entered");
      fx.signal("SIGTERM");
      const res = await conn.read({ timeoutMs: 5_000 });
      assert.equal(res.status, 200);
      const exit = await exitOf(fx, 5_000);
      assert.equal(exit.code, 0, fx.describe());
      const runs = fx.events.filter((e) => e.event === "hook-run");
      assert.deepEqual(runs.map((e) => e.name), ["third", "second", "first"]);
      for (const run of runs) {
        assert.equal(
          run.inFlight,
          0,
          `hook ${run.name} ran with ${run.inFlight} request(s) in flight`,
        );
        assert.equal(run.state, "draining", `hook ${run.name} ran in state ${run.state}`);
      }
      const handled = fx.events.findIndex(is("handled", "/slow"));
      const firstHook = fx.events.findIndex((e) => e.event === "hook-run");
      assert.ok(
        handled >= 0 && handled < firstHook,
        "a hook ran before the in-flight handler finished",
      );
      const report = reportOf(fx);
      assert.deepEqual(report.hooks.map((h) => [h.name, h.ok]), [["third", true], [
        "second",
        true,
      ], ["first", true]]);
      assert.equal(report.graceful, true);
      assert.equal(report.completed, 1, "the one /slow request");
      assert.equal(report.aborted, 0);
    });
  });

  // 9b
  test("a hanging hook is cut at its timeout and a throwing hook is reported; later hooks still run; exit 1", async () => {
    const hooks: HookSpec[] = [
      { name: "runs-last", kind: "ok" },
      { name: "throws", kind: "throw" },
      { name: "hangs", kind: "hang", timeout: 300 },
    ];
    await withFixture(runtime, { hooks }, async (fx) => {
      const sigAt = fx.signal("SIGTERM");
      const exit = await exitOf(fx, 8_000);
      assert.equal(exit.code, 1, fx.describe());
      const ms = exit.atMs - sigAt;
      assert.ok(ms < 300 + PROMPT_MS, `exited ${ms.toFixed(0)} ms after SIGTERM`);
      assert.deepEqual(fx.events.filter((e) => e.event === "hook-run").map((e) => e.name), [
        "hangs",
        "throws",
        "runs-last",
      ]);
      const report = reportOf(fx);
      assert.deepEqual(report.hooks.map((h) => h.name), ["hangs", "throws", "runs-last"]);
      const [hangs, throws, last] = report.hooks;
      assert.equal(hangs!.ok, false);
      assert.ok(
        typeof hangs!.error === "string" && hangs!.error.length > 0,
        "the hanging hook has an error",
      );
      // Cut at its own 300 ms timeout, not the 5 s default.
      assert.ok(
        hangs!.durationMs >= 290 && hangs!.durationMs < 300 + PROMPT_MS,
        `the hanging hook ran ${hangs!.durationMs} ms (timeout 300)`,
      );
      assert.equal(throws!.ok, false);
      assert.match(throws!.error ?? "", /hook throws failed on purpose/);
      assert.equal(last!.ok, true);
      assert.equal(report.graceful, true, "nothing was in flight: the drain itself was graceful");
    });
  });

  // 10
  test("maxInFlight 2: a third request gets 503 with Retry-After: 1 while both slots are busy, without calling fetch", async () => {
    await withFixture(runtime, { maxInFlight: 2, trace: true }, async (fx) => {
      const a = await RawConnection.connect(fx.port);
      const b = await RawConnection.connect(fx.port);
      a.send("GET", "/slow?ms=1500&id=a");
      b.send("GET", "/slow?ms=1500&id=b");
      const aRead = a.read({ timeoutMs: 8_000 });
      const bRead = b.read({ timeoutMs: 8_000 });
      aRead.catch(() => {});
      bRead.catch(() => {});
      // Fail fast (and say why) when a or b is answered before its handler was entered.
      const answeredEarly = Promise.race([
        aRead.then((r) => ["a", r] as const),
        bRead.then((r) => ["b", r] as const),
      ]).then(([id, r]) => {
        throw new assert.AssertionError({
          message:
            `request ${id}, one of only 2 in flight, was answered ${r.status} (${r.body.trim()}) instead of reaching fetch`,
        });
      });
      answeredEarly.catch(() => {});
      await Promise.race([
        Promise.all([
          fx.waitFor((e) => e.event === "entered" && e.id === "a", 5_000, "request a entered"),
          fx.waitFor((e) => e.event === "entered" && e.id === "b", 5_000, "request b entered"),
        ]),
        answeredEarly,
      ]);
      const third = await rawRequest(fx.port, "GET", "/slow?ms=1500&id=c");
      third.conn.destroy();
      assert.equal(third.res.status, 503);
      assert.equal(
        third.res.headers["retry-after"],
        "1",
        `Retry-After: ${JSON.stringify(third.res.headers)}`,
      );
      assert.equal(third.res.body, "Service Unavailable: too many requests in flight\n");
      const [ra, rb] = await Promise.all([aRead, bRead]);
      // At once: answered while a and b still held both slots, not after one was freed.
      assert.ok(
        third.res.doneAt < Math.min(ra.doneAt, rb.doneAt),
        "the 503 came only after a slot was freed",
      );
      assert.equal(ra.status, 200);
      assert.equal(rb.status, 200);
      const freed = await rawRequest(fx.port, "GET", "/fast");
      freed.conn.destroy();
      assert.equal(freed.res.status, 200, "the slots are free again");
      const paths = fx.events.filter((e) => e.event === "fetch").map((e) => e.path as string);
      assert.ok(
        paths.includes("/slow?ms=1500&id=a") && paths.includes("/slow?ms=1500&id=b"),
        "trace works (control)",
      );
      assert.equal(
        paths.includes("/slow?ms=1500&id=c"),
        false,
        "fetch was called for the rejected request",
      );
      a.destroy();
      b.destroy();
      fx.signal("SIGTERM");
      assert.equal((await exitOf(fx, 5_000)).code, 0, fx.describe());
    });
  });

  // 11
  test("a client that disconnects mid-stream aborts ctx.signal, cancels the stream, and inFlight returns to idle", async () => {
    await withFixture(runtime, { drainTimeout: 2_000 }, async (fx) => {
      const inFlight = async (): Promise<number> => {
        const { conn, res } = await rawRequest(fx.port, "GET", "/inflight");
        conn.destroy();
        return JSON.parse(res.body).inFlight;
      };
      const idle = await inFlight();
      assert.ok(
        idle === 0 || idle === 1,
        `inFlight on an idle server, seen from /inflight: ${idle}`,
      );
      const conn = await RawConnection.connect(fx.port);
      conn.send("GET", "/stream-forever");
      await fx.waitFor(is("entered", "/stream-forever"), 5_000, "/stream-forever to be entered");
      await sleep(200);
      assert.equal(await inFlight(), idle + 1, "the open stream counts as in flight");
      conn.destroy();
      const [aborted, cancelled] = await Promise.allSettled([
        fx.waitFor(
          is("aborted", "/stream-forever"),
          3_000,
          "ctx.signal of /stream-forever to abort",
        ),
        fx.waitFor(is("cancel", "/stream-forever"), 3_000, "the response stream to be cancelled"),
      ]);
      let seen = -1;
      const deadline = now() + 2_000;
      while (now() < deadline) {
        seen = await inFlight();
        if (seen === idle) break;
        await sleep(50);
      }
      const observed = `ctx.signal aborted: ${aborted.status === "fulfilled"}, stream cancelled: ${
        cancelled.status === "fulfilled"
      }, inFlight ${seen} (idle ${idle})`;
      assert.equal(
        aborted.status,
        "fulfilled",
        `ctx.signal did not abort within 3 s of the disconnect (${observed})`,
      );
      assert.equal(
        cancelled.status,
        "fulfilled",
        `the stream was not cancelled within 3 s (${observed})`,
      );
      assert.equal(seen, idle, `inFlight did not return to idle (${observed})`);
      fx.signal("SIGTERM");
      const exit = await exitOf(fx, 5_000);
      assert.equal(exit.code, 0, fx.describe());
    });
  });
}
