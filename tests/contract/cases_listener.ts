/**
 * Contract cases for a Node request listener (`serve({ listener })`, the plain `(req, res)`
 * listener of fixture/listener_app.ts): probes and `maxInFlight` before the listener, the
 * lame-duck window's `Connection: close` (also over the app's own `Connection` header, and
 * never twice), idle keep-alive connections closed, `res.write` loops and SSE across SIGTERM,
 * the deadline, hooks and exit codes, `server.signal`. Paths, TLS and WebSockets:
 * cases_listener_paths.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { FixtureConfig } from "../shared/fixture_config.ts";
import { PROMPT_MS, within } from "../shared/time.ts";
import { RawConnection, rawRequest, type RawResponse } from "./client_raw_http.ts";
import type { RuntimeName } from "./runtimes.ts";
import { exitOf, withFixture } from "./fixture_process.ts";
import { is, reportOf } from "./fixture_events.ts";

/** The listener fixture with `config`. */
export const listening = (config: FixtureConfig = {}): FixtureConfig => ({
  listener: true,
  ...config,
});

/** Whether the response says `Connection: close` exactly once (repeated fields are joined). */
export const closesOnce = (res: RawResponse): boolean => res.headers.connection === "close";

const draining = (e: { event: string; type?: unknown }) =>
  e.event === "log" && e.type === "draining";

/** Registers these cases for `runtime` (inside its describe block). */
export function listenerCases(runtime: RuntimeName): void {
  test("listener: readiness and liveness are answered before the listener (503 and 200 once draining); other paths reach it", async () => {
    const config = listening({ readiness: "/readyz", liveness: "/livez", lameDuck: 1_500 });
    await withFixture(runtime, config, async (fx) => {
      const ask = async (path: string) => {
        const { conn, res } = await rawRequest(fx.port, "GET", path);
        conn.destroy();
        return res;
      };
      assert.equal((await ask("/readyz")).status, 200);
      assert.equal((await ask("/livez?probe=1")).status, 200);
      assert.equal((await ask("/fast")).body, "fast");
      fx.signal("SIGTERM");
      await fx.waitFor(draining, 5_000, "draining");
      assert.equal((await ask("/readyz")).status, 503);
      assert.equal((await ask("/livez")).status, 200);
      const reached = fx.events.filter(is("listener")).map((e) => e.path);
      assert.deepEqual(reached, ["/fast"], "only /fast reached the listener");
      assert.equal((await exitOf(fx)).code, 0, fx.describe());
    });
  });

  test("listener: above maxInFlight a request gets 503 with Retry-After: 1 without reaching the listener", async () => {
    await withFixture(runtime, listening({ maxInFlight: 1 }), async (fx) => {
      const slow = await RawConnection.connect(fx.port);
      slow.send("GET", "/slow?ms=1500&id=held");
      await fx.waitFor(is("entered", "/slow"), 5_000, "/slow to be entered");
      const { conn, res } = await rawRequest(fx.port, "GET", "/fast");
      conn.destroy();
      assert.equal(res.status, 503);
      assert.equal(res.headers["retry-after"], "1");
      assert.equal(fx.events.filter(is("listener")).length, 1, "/fast reached the listener");
      assert.equal((await slow.read({ timeoutMs: 5_000 })).status, 200);
      slow.destroy();
    });
  });

  test("listener: in the lame-duck window every response says Connection: close once, over the app's own Connection header (setHeader and writeHead), and in-flight ones too", async () => {
    await withFixture(runtime, listening({ lameDuck: 1_500 }), async (fx) => {
      // In flight when shutdown starts: the heads are written during the window.
      const early = await Promise.all(
        ["/own-connection?ms=600", "/own-writehead?ms=600"].map(async (path) => {
          const conn = await RawConnection.connect(fx.port);
          conn.send("GET", path);
          return conn;
        }),
      );
      await fx.waitFor(is("entered", "/own-connection"), 5_000, "/own-connection to be entered");
      await fx.waitFor(is("entered", "/own-writehead"), 5_000, "/own-writehead to be entered");
      fx.signal("SIGTERM");
      await fx.waitFor(draining, 5_000, "draining");
      const seen: string[] = [];
      for (const path of ["/fast", "/own-connection", "/own-writehead", "/sse?n=2&ms=10"]) {
        const { conn, res } = await rawRequest(fx.port, "GET", path);
        conn.destroy();
        assert.equal(res.status, 200, path);
        seen.push(`${path}: ${res.headers.connection}`);
      }
      for (const conn of early) {
        const res = await conn.read({ timeoutMs: 5_000 });
        seen.push(`in flight ${res.body}: ${res.headers.connection}`);
        conn.destroy();
      }
      assert.deepEqual(seen, [
        "/fast: close",
        "/own-connection: close",
        "/own-writehead: close",
        "/sse?n=2&ms=10: close",
        "in flight own connection: close",
        "in flight own writeHead: close",
      ]);
      assert.equal((await exitOf(fx)).code, 0, fx.describe());
    });
  });

  test("listener: negative control: the check sees a Connection: close sent twice", async () => {
    await withFixture(runtime, listening(), async (fx) => {
      const { conn, res } = await rawRequest(fx.port, "GET", "/double-close");
      conn.destroy();
      assert.equal(res.body, "ok");
      assert.equal(res.headers.connection, "close, close");
      assert.equal(closesOnce(res), false, "a doubled Connection: close must fail the check");
    });
  });

  test("listener: while serving, responses keep the connection alive (no Connection: close)", async () => {
    await withFixture(runtime, listening(), async (fx) => {
      const { conn, res } = await rawRequest(fx.port, "GET", "/fast");
      const again = await conn.request("GET", "/own-writehead");
      conn.destroy();
      assert.equal(res.headers.connection?.toLowerCase(), "keep-alive");
      assert.equal(again.headers.connection?.toLowerCase(), "keep-alive");
    });
  });

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
