/**
 * Contract cases for a Node request listener (fixture/listener_app.ts) during the drain: idle
 * keep-alive connections closed, a `res.write` loop and SSE across SIGTERM, the deadline,
 * hooks and exit codes, `server.signal`, a client that leaves, a listener that throws.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { PROMPT_MS, within } from "../shared/time.ts";
import { RawConnection, rawRequest } from "./client_raw_http.ts";
import type { RuntimeName } from "./runtimes.ts";
import { exitOf, withFixture } from "./fixture_process.ts";
import { is, reportOf } from "./fixture_events.ts";
import { listening } from "./cases_listener.ts";

/** Registers these cases for `runtime` (inside its describe block). */
export function listenerDrainCases(runtime: RuntimeName): void {
  test("listener: an idle keep-alive connection is closed when the listener closes, no request reset; exit 0 promptly", async () => {
    await withFixture(runtime, listening({ drainTimeout: 10_000 }), async (fx) => {
      const { conn, res } = await rawRequest(fx.port, "GET", "/fast");
      assert.equal(res.status, 200);
      const sigAt = fx.signal("SIGTERM");
      const ended = await within(conn.ended, PROMPT_MS, "the idle connection to be closed");
      assert.equal(ended, "fin", "closed with FIN, not reset");
      const exit = await exitOf(fx);
      assert.equal(exit.code, 0, fx.describe());
      assert.ok(exit.atMs - sigAt < PROMPT_MS, `exit took ${(exit.atMs - sigAt).toFixed(0)} ms`);
    });
  });

  test("listener: a res.write loop and an SSE stream in flight at SIGTERM complete (Connection: close); report completed 2, exit 0", async () => {
    await withFixture(runtime, listening({ drainTimeout: 10_000 }), async (fx) => {
      const streams = await Promise.all(["/stream?n=5&ms=300", "/sse?n=5&ms=300"].map(
        async (path) => {
          const conn = await RawConnection.connect(fx.port);
          conn.send("GET", path);
          return conn;
        },
      ));
      await fx.waitFor(is("entered", "/sse"), 5_000, "/sse to be entered");
      await fx.waitFor(is("entered", "/stream"), 5_000, "/stream to be entered");
      fx.signal("SIGTERM");
      const [plain, sse] = await Promise.all(streams.map((c) => c.read({ timeoutMs: 10_000 })));
      assert.equal(plain!.body, "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n");
      assert.equal(sse!.body, "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n");
      assert.equal(sse!.headers["content-type"], "text/event-stream");
      for (const c of streams) c.destroy();
      const exit = await exitOf(fx);
      assert.equal(exit.code, 0, fx.describe());
      const report = reportOf(fx);
      assert.equal(report.graceful, true);
      assert.equal(report.completed, 2, fx.describe());
      assert.equal(fx.events.some(is("cancel")), false, fx.describe());
    });
  });

  test("listener: a never-ending res.write loop is cut at drainTimeout 500: res closes, report aborted 1, exit 1", async () => {
    await withFixture(runtime, listening({ drainTimeout: 500 }), async (fx) => {
      const conn = await RawConnection.connect(fx.port);
      conn.send("GET", "/stream-forever");
      await fx.waitFor(is("entered", "/stream-forever"), 5_000, "the stream to start");
      const sigAt = fx.signal("SIGTERM");
      const exit = await exitOf(fx, 5_000);
      const ms = exit.atMs - sigAt;
      assert.equal(exit.code, 1, fx.describe());
      assert.ok(ms >= 490 && ms < 500 + PROMPT_MS, `exited ${ms.toFixed(0)} ms after SIGTERM`);
      assert.ok(fx.events.some(is("cancel", "/stream-forever")), fx.describe());
      const report = reportOf(fx);
      assert.equal(report.graceful, false);
      assert.equal(report.aborted, 1, fx.describe());
      conn.destroy();
    });
  });

  test("listener: server.signal aborts at SIGTERM; hooks run last first after the drain; a failing hook makes exit 1", async () => {
    const hooks = [{ name: "first", ms: 10 }, { name: "second", kind: "throw" as const }];
    await withFixture(runtime, listening({ hooks }), async (fx) => {
      const conn = await RawConnection.connect(fx.port);
      conn.send("GET", "/slow?ms=500&id=h");
      await fx.waitFor(is("entered", "/slow"), 5_000, "/slow to be entered");
      fx.signal("SIGTERM");
      const seen = await fx.waitFor(is("server-signal"), 5_000, "server.signal");
      assert.equal(seen.state, "draining");
      assert.equal(seen.inFlight, 1);
      assert.equal((await conn.read({ timeoutMs: 5_000 })).status, 200);
      conn.destroy();
      const exit = await exitOf(fx);
      assert.equal(exit.code, 1, fx.describe());
      const ran = fx.events.filter(is("hook-run"));
      assert.deepEqual(ran.map((e) => [e.name, e.inFlight]), [["second", 0], ["first", 0]]);
      const report = reportOf(fx);
      assert.equal(report.graceful, true);
      assert.equal(report.completed, 1);
      assert.deepEqual(report.hooks.map((h) => [h.name, h.ok]), [["second", false], [
        "first",
        true,
      ]]);
    });
  });

  test("listener: a client that leaves mid-stream ends its request: res closes, inFlight goes back down", async () => {
    await withFixture(runtime, listening(), async (fx) => {
      const conn = await RawConnection.connect(fx.port);
      conn.send("GET", "/stream-forever");
      await fx.waitFor(is("entered", "/stream-forever"), 5_000, "the stream to start");
      const during = await rawRequest(fx.port, "GET", "/inflight");
      during.conn.destroy();
      assert.deepEqual(JSON.parse(during.res.body), { inFlight: 2 }, "the stream and /inflight");
      conn.destroy();
      await fx.waitFor(is("cancel", "/stream-forever"), 5_000, "res to close");
      const after = await rawRequest(fx.port, "GET", "/inflight");
      after.conn.destroy();
      assert.deepEqual(JSON.parse(after.res.body), { inFlight: 1 }, "only /inflight itself");
    });
  });

  test("listener: one that throws is logged and answered 500; the server goes on serving", async () => {
    await withFixture(runtime, listening(), async (fx) => {
      const { conn, res } = await rawRequest(fx.port, "GET", "/throw");
      conn.destroy();
      assert.equal(res.status, 500);
      await fx.waitFor(
        (e) => e.event === "log" && e.type === "error" && String(e.error).includes("boom"),
        5_000,
        "the error to be logged",
      );
      const next = await rawRequest(fx.port, "GET", "/fast");
      next.conn.destroy();
      assert.equal(next.res.body, "fast");
    });
  });
}
