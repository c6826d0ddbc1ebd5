/**
 * Contract cases for a Node request listener (`serve({ listener })`, the plain `(req, res)`
 * listener of fixture/listener_app.ts): probes and `maxInFlight` before the listener, the
 * lame-duck window's `Connection: close` (also over the app's own `Connection` header, and
 * never twice). The drain: cases_listener_drain.ts; paths, TLS and WebSockets:
 * cases_listener_paths.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { FixtureConfig } from "../shared/fixture_config.ts";
import { RawConnection, rawRequest, type RawResponse } from "./client_raw_http.ts";
import type { RuntimeName } from "./runtimes.ts";
import { exitOf, withFixture } from "./fixture_process.ts";
import { is } from "./fixture_events.ts";

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

  test("listener: metrics and object-form readiness (async checks) are answered before the listener, 503 JSON once draining", async () => {
    const config = listening({ metrics: "/metrics", readinessChecks: { timeout: 500 } });
    await withFixture(runtime, { ...config, lameDuck: 1_500 }, async (fx) => {
      const ask = async (path: string) => {
        const { conn, res } = await rawRequest(fx.port, "GET", path);
        conn.destroy();
        return res;
      };
      const metrics = await ask("/metrics");
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /lameduck_http_server_active_requests/);
      const ready = await ask("/readyz");
      assert.equal(ready.status, 200, ready.body);
      assert.equal(JSON.parse(ready.body).status, "ok", ready.body);
      fx.signal("SIGTERM");
      await fx.waitFor(draining, 5_000, "draining");
      const notReady = await ask("/readyz");
      assert.equal(notReady.status, 503, notReady.body);
      assert.equal(notReady.headers["content-type"], "application/json");
      assert.deepEqual(fx.events.filter(is("listener")), [], "a probe reached the listener");
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

  test("listener: in the lame-duck window every response says Connection: close once, over the app's own Connection header (setHeader, writeHead, a framework's own res prototype), and in-flight ones too", async () => {
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
      const paths = [
        "/fast",
        "/own-connection",
        "/own-writehead",
        "/swapped-prototype",
        "/sse?n=2&ms=10",
      ];
      for (const path of paths) {
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
        "/swapped-prototype: close",
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
}
