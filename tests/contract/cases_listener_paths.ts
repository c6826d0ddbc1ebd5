/**
 * Contract cases for a Node request listener on both ways of getting the listening socket
 * (`direct`, and `inherited` as systemd and `lameduck run` pass it): a request in flight at
 * SIGTERM, over plaintext and TLS, and WebSockets through the `websocket` function option.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { PROMPT_MS, sleep, within } from "../shared/time.ts";
import { RawConnection, tryConnect } from "./client_raw_http.ts";
import { openEcho } from "./client_websocket.ts";
import { certificate, httpsGet, PATHS, withPath } from "./cases_paths.ts";
import { closesOnce, listening } from "./cases_listener.ts";
import type { RuntimeName } from "./runtimes.ts";
import { exitOf } from "./fixture_process.ts";
import { is, reportOf } from "./fixture_events.ts";

/** Registers these cases for `runtime` (inside its describe block). */
export function listenerPathCases(runtime: RuntimeName): void {
  for (const path of PATHS) {
    test(`listener: ${path}: a request in flight at SIGTERM completes with Connection: close; new connections are refused after; exit 0`, async () => {
      await withPath(runtime, path, listening({ drainTimeout: 10_000 }), async (fx) => {
        const conn = await RawConnection.connect(fx.port);
        conn.send("GET", "/slow?ms=1000&id=p");
        await fx.waitFor(is("entered", "/slow"), 5_000, "/slow to be entered");
        fx.signal("SIGTERM");
        await fx.waitFor((e) => e.event === "log" && e.type === "draining", 5_000, "draining");
        // Regression (Bun 1.4.5): net.Server's close() throws on Bun's node:http server, which
        // then never stopped accepting.
        let refused = "";
        for (let i = 0; i < 50 && refused !== "ECONNREFUSED"; i++) {
          refused = await tryConnect(fx.port, 1_000);
          if (refused !== "ECONNREFUSED") await sleep(20);
        }
        assert.equal(refused, "ECONNREFUSED", `a new connection while /slow is in flight`);
        assert.equal(fx.events.some(is("handled", "/slow")), false, "/slow already finished");
        const res = await conn.read({ timeoutMs: 5_000 });
        conn.destroy();
        assert.equal(res.body, "slow done after 1000 ms");
        assert.ok(closesOnce(res), `Connection: ${res.headers.connection}`);
        const exit = await exitOf(fx);
        assert.equal(exit.code, 0, fx.describe());
        assert.equal(reportOf(fx).completed, 1, fx.describe());
      });
    });

    test(`listener: ${path}: over TLS (HTTP/1.1), ready says https and a request in flight at SIGTERM completes with Connection: close; exit 0`, async () => {
      const tls = certificate();
      await withPath(runtime, path, listening({ tls, drainTimeout: 10_000 }), async (fx) => {
        const ready = fx.events.find(is("ready"))!;
        assert.match(String(ready.url), /^https:\/\/127\.0\.0\.1:\d+\/$/, fx.describe());
        const response = httpsGet(fx.port, "/slow?ms=1500&id=tls", tls.cert);
        await fx.waitFor(is("entered", "/slow"), 10_000, "the request to reach the listener");
        fx.signal("SIGTERM");
        const res = await within(response, 10_000, "the response over TLS");
        assert.equal(res.status, 200, fx.describe());
        assert.equal(res.body, "slow done after 1500 ms");
        assert.equal(res.connection, "close", "in flight at shutdown: Connection: close");
        const exit = await exitOf(fx, 15_000);
        assert.equal(exit.code, 0, fx.describe());
        assert.equal(reportOf(fx).completed, 1);
      });
    });

    test(`listener: ${path}: a WebSocket (ws, through the websocket function) gets 1001 Going Away at shutdown and does not hold the drain; exit 0`, async () => {
      await withPath(runtime, path, listening({ drainTimeout: 10_000 }), async (fx) => {
        const ws = await openEcho(fx.port);
        const closed = new Promise<number>((resolve) => ws.onclose = (e) => resolve(e.code));
        const sigAt = fx.signal("SIGTERM");
        assert.equal(await within(closed, 5_000, "the WebSocket to close"), 1001);
        const exit = await exitOf(fx, 10_000);
        assert.equal(exit.code, 0, fx.describe());
        assert.ok(exit.atMs - sigAt < PROMPT_MS, `exit took ${(exit.atMs - sigAt).toFixed(0)} ms`);
        assert.equal(reportOf(fx).graceful, true);
      });
    });
  }
}
