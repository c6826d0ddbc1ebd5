/**
 * Contract cases for promises of the README that one-line mutations of the core used to survive:
 * `onError`'s Response reaching the client, step 1 (`server.signal` and `ctx.shutdown` abort at
 * once), the lifecycle events' exact counts (`draining`, `progress`, `forced`, `hook`), and a
 * stuck handler answered `503` end to end.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { THROUGH } from "./fixture/app.ts";
import { exitOf, type FixtureEvent, withFixture } from "./fixture_process.ts";
import { RawConnection, rawRequest } from "./client_raw_http.ts";
import type { RuntimeName } from "./runtimes.ts";
import { is, reportOf } from "./fixture_events.ts";

const log = (type: string) => (e: FixtureEvent): boolean => e.event === "log" && e.type === type;

/** Registers these cases for `runtime` (inside its describe block). */
export function promiseCases(runtime: RuntimeName): void {
  test("onError's Response reaches the client (418 and its body); the error is still logged", async () => {
    await withFixture(runtime, { onError: "teapot" }, async (fx) => {
      const { conn, res } = await rawRequest(fx.port, "GET", "/throw-through");
      conn.destroy();
      assert.equal(res.status, 418, `${res.status} ${res.body}\n${fx.describe()}`);
      assert.equal(res.body, `onError: ${THROUGH}`);
      assert.equal(res.headers["x-on-error"], "teapot");
      await fx.waitFor(is("on-error"), 5_000, "onError to be called");
      await fx.waitFor(log("error"), 5_000, "the error lifecycle event");
    });
  });

  test("without onError, or when onError throws, the client gets the plain 500 and no error text", async () => {
    for (const onError of [undefined, "throw"] as const) {
      await withFixture(runtime, onError ? { onError } : {}, async (fx) => {
        const { conn, res } = await rawRequest(fx.port, "GET", "/throw-through");
        conn.destroy();
        const what = onError ? "onError that throws" : "no onError";
        assert.equal(res.status, 500, `${what}: ${res.status} ${res.body}`);
        assert.equal(res.body, "Internal Server Error\n", what);
        assert.ok(!res.body.includes(THROUGH), `${what}: the error reached the client`);
      });
    }
  });

  test("step 1 at once: server.signal and ctx.shutdown abort, in-flight handlers see it during lameDuck, the draining event counts 2 in flight", async () => {
    await withFixture(runtime, { lameDuck: 1_500, drainTimeout: 10_000 }, async (fx) => {
      const a = await RawConnection.connect(fx.port);
      const b = await RawConnection.connect(fx.port);
      a.send("GET", "/slow?ms=3000&id=a");
      b.send("GET", "/slow?ms=3000&id=b");
      await fx.waitFor((e) => e.event === "entered" && e.id === "a", 5_000, "a entered");
      await fx.waitFor((e) => e.event === "entered" && e.id === "b", 5_000, "b entered");
      assert.equal(fx.events.some(is("server-signal")), false, "server.signal aborted early");
      assert.equal(fx.events.some(is("shutdown-seen")), false, "ctx.shutdown aborted early");
      fx.signal("SIGTERM");
      const signalled = await fx.waitFor(is("server-signal"), 5_000, "server.signal to abort");
      assert.equal(signalled.state, "draining", "server.signal aborted before state changed");
      for (const id of ["a", "b"]) {
        await fx.waitFor(
          (e) => e.event === "shutdown-seen" && e.id === id,
          5_000,
          `ctx.shutdown of request ${id} to abort`,
        );
      }
      const draining = await fx.waitFor(log("draining"), 5_000, "the draining event");
      assert.equal(draining.inFlight, 2, `draining event: ${JSON.stringify(draining)}`);
      assert.equal(draining.reason, "SIGTERM");
      // A request on a new connection during the window sees the same: state and ctx.shutdown.
      const { conn, res } = await rawRequest(fx.port, "GET", "/state");
      conn.destroy();
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.body), { state: "draining", shutdown: true });
      // Event order: all of step 1 happened while both handlers still ran (lameDuck 1.5 s,
      // handlers 3 s), i.e. before the listener closed and before any handler finished.
      const firstHandled = fx.events.findIndex(is("handled", "/slow"));
      const lastSeen = fx.events.findLastIndex(is("shutdown-seen"));
      assert.ok(
        firstHandled === -1 || lastSeen < firstHandled,
        `ctx.shutdown aborted only after a handler finished\n${fx.describe()}`,
      );
      const [ra, rb] = await Promise.all([a.read(), b.read()]);
      assert.equal(ra.status, 200);
      assert.equal(rb.status, 200);
      assert.equal((await exitOf(fx)).code, 0, fx.describe());
      const report = reportOf(fx);
      assert.equal(report.completed, 3, "a, b and /state completed");
      assert.equal(report.aborted, 0);
      a.destroy();
      b.destroy();
    });
  });

  test("a stuck handler: draining, a progress event about every second, forced with the count, a hook event each, in that order", async () => {
    const hooks = [{ name: "first" }, { name: "second" }];
    await withFixture(runtime, { drainTimeout: 3_500, hooks }, async (fx) => {
      const conn = await RawConnection.connect(fx.port);
      conn.send("GET", "/never");
      await fx.waitFor(is("entered", "/never"), 5_000, "/never to be entered");
      fx.signal("SIGTERM");
      assert.equal((await exitOf(fx)).code, 1, fx.describe());
      conn.destroy();
      const logged = fx.events.filter((e) => e.event === "log" && e.type !== "listening");
      const types = logged.map((e) => e.type as string);
      const progress = logged.filter(log("progress"));
      // progress fires each second while something is in flight: at about 1, 2 and 3 s of a
      // 3.5 s drain. A loaded machine may delay a timer, never add one, so 2 to 3 of them.
      assert.ok(
        progress.length >= 2 && progress.length <= 3,
        `${progress.length} progress events in a 3.5 s drain: ${types.join(", ")}`,
      );
      const elapsed = progress.map((e) => e.elapsedMs as number);
      for (let i = 0; i < elapsed.length; i++) {
        assert.equal(progress[i]!.inFlight, 1, JSON.stringify(progress[i]));
        const gap = elapsed[i]! - (i === 0 ? 0 : elapsed[i - 1]!);
        assert.ok(gap >= 900 && gap < 2_500, `progress elapsedMs ${elapsed.join(", ")}`);
      }
      assert.deepEqual(
        types,
        ["draining", ...progress.map(() => "progress"), "forced", "hook", "hook", "closed"],
        "event order",
      );
      assert.equal(logged[0]!.inFlight, 1, "draining counts the stuck handler");
      const forced = logged.find(log("forced"))!;
      assert.equal(forced.inFlight, 1, `forced: ${JSON.stringify(forced)}`);
      const hookEvents = logged.filter(log("hook")).map((e) => e.hook as { name: string });
      assert.deepEqual(hookEvents.map((h) => h.name), ["second", "first"]);
      const report = reportOf(fx);
      assert.deepEqual(report.hooks, hookEvents, "the hook events are the report's entries");
      assert.equal(report.graceful, false);
      assert.equal(report.aborted, 1);
      assert.equal(report.completed, 0);
    });
  });

  // Needs the core fix that lets a forced handler's 503 reach the client on Node and Bun (the
  // lead's request-path rewrite); before it, Node and Bun clients got the connection closed
  // without a response. Deno answered it already.
  test("a handler stuck past drainTimeout is answered 503 end to end: the status line reaches the client (core fix for Node and Bun)", async () => {
    await withFixture(runtime, { drainTimeout: 300 }, async (fx) => {
      const conn = await RawConnection.connect(fx.port);
      conn.send("GET", "/never");
      await fx.waitFor(is("entered", "/never"), 5_000, "/never to be entered");
      fx.signal("SIGTERM");
      const res = await conn.read({ timeoutMs: 5_000 });
      assert.equal(res.status, 503, `${res.status} ${res.body}`);
      assert.equal(res.body, "Service Unavailable: server shutting down\n");
      assert.equal(res.headers.connection?.toLowerCase(), "close");
      assert.equal((await exitOf(fx)).code, 1, fx.describe());
      conn.destroy();
    });
  });
}
