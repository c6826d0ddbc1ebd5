/**
 * Contract cases: Serving and exiting: Hono unchanged, requests and streams finish across SIGTERM, idle and silent connections do not delay exit (WebSockets: cases_paths.ts), requests Fetch cannot represent.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { PROMPT_MS, sleep, within } from "../shared/time.ts";
import { RawConnection, rawRequest } from "./client_raw_http.ts";
import type { RuntimeName } from "./runtimes.ts";
import { exitOf, withFixture } from "./fixture_process.ts";
import { FIVE_CHUNKS } from "./fixture/app.ts";
import { is, reportOf } from "./fixture_events.ts";

/** Registers these cases for `runtime` (inside its describe block). */
export function exitCases(runtime: RuntimeName): void {
  // Regression: on Node, `new Request()` refuses TRACE/CONNECT/TRACK and a Host header that
  // forms no URL; the bridge's TypeError used to surface as "internal error" and a reset.
  // Deno and Bun pass such requests to the handler (the fixture answers 404 for TRACE).
  test("TRACE and a Host header that forms no URL are answered (400 on Node), never reset; serving goes on", async () => {
    await withFixture(runtime, {}, async (fx) => {
      for (const [method, headers] of [["TRACE", {}], ["GET", { Host: "[bad" }]] as const) {
        const conn = await RawConnection.connect(fx.port);
        conn.socket.write(
          [`${method} /fast HTTP/1.1`, `Host: ${"Host" in headers ? headers.Host : "x"}`]
            .join("\r\n") + "\r\n\r\n",
        );
        const res = await conn.read();
        const what = `${method} with Host ${JSON.stringify(headers)}`;
        if (runtime === "node") {
          assert.equal(res.status, 400, `${what}: ${res.body}`);
          assert.equal(res.headers.connection, "close", what);
        } else {
          assert.ok([200, 400, 404].includes(res.status), `${what}: ${res.status} ${res.body}`);
        }
        assert.doesNotMatch(
          res.body,
          /\bat .*:\d+:\d+/,
          `${what}: a stack trace reached the client`,
        );
        conn.destroy();
      }
      const { conn, res } = await rawRequest(fx.port, "GET", "/fast");
      assert.equal(res.status, 200);
      conn.destroy();
      assert.doesNotMatch(fx.stderr(), /internal error/);
    });
  });

  // 1
  test("Hono app.fetch is served unchanged and getConnInfo reports 127.0.0.1 and the client port; SIGINT exits 0", async () => {
    await withFixture(runtime, {}, async (fx) => {
      const conn = await RawConnection.connect(fx.port);
      const fast = await conn.request("GET", "/fast");
      assert.equal(fast.status, 200);
      assert.equal(fast.body, "fast");
      const res = await conn.request("GET", "/conninfo");
      assert.equal(res.status, 200, `GET /conninfo: ${res.body}\n${fx.describe()}`);
      const info = JSON.parse(res.body);
      assert.equal(info.conninfo?.remote?.address, "127.0.0.1", res.body);
      assert.equal(info.conninfo?.remote?.port, conn.localPort, res.body);
      assert.deepEqual(info.remoteAddr, {
        transport: "tcp",
        hostname: "127.0.0.1",
        port: conn.localPort,
      });
      conn.destroy();
      fx.signal("SIGINT");
      const exit = await exitOf(fx, 5_000);
      assert.equal(exit.code, 0, fx.describe());
    });
  });

  // 2
  // Regression: Deno writes its own `Connection: close` when the request asked for one; with
  // lameduck's the client got `Connection: close, close` (Deno 2.9.6).
  test("SIGTERM lets a 1 s request finish with exactly one Connection: close (also when the request said close), then exits 0 within 3 s", async () => {
    await withFixture(runtime, {}, async (fx) => {
      const conn = await RawConnection.connect(fx.port);
      conn.send("GET", "/slow?ms=1000&id=a");
      const asked = await RawConnection.connect(fx.port);
      asked.send("GET", "/slow?ms=1000&id=b", { Connection: "close" });
      await fx.waitFor((e) => is("entered", "/slow")(e) && e.id === "a", 5_000, "/slow a");
      await fx.waitFor((e) => is("entered", "/slow")(e) && e.id === "b", 5_000, "/slow b");
      fx.signal("SIGTERM");
      const res = await conn.read({ timeoutMs: 5_000 });
      assert.equal(res.status, 200);
      assert.equal(res.body, "slow done after 1000 ms");
      assert.equal(res.headers.connection?.toLowerCase(), "close", JSON.stringify(res.headers));
      const other = await asked.read({ timeoutMs: 5_000 });
      assert.equal(other.status, 200);
      assert.equal(other.headers.connection?.toLowerCase(), "close", JSON.stringify(other.headers));
      const exit = await exitOf(fx, 5_000);
      assert.equal(exit.code, 0, fx.describe());
      const lag = exit.atMs - res.doneAt;
      assert.ok(lag < 3_000, `exited ${lag.toFixed(0)} ms after the response`);
      assert.equal(
        fx.events.some(is("aborted", "/slow")),
        false,
        "ctx.signal aborted for a request that completed",
      );
    });
  });

  // 3
  test("SIGTERM during a streaming response lets all 5 chunks arrive, then exits 0", async () => {
    await withFixture(runtime, {}, async (fx) => {
      const conn = await RawConnection.connect(fx.port);
      conn.send("GET", "/stream?n=5&ms=200");
      await fx.waitFor(is("entered", "/stream"), 5_000, "/stream to be entered");
      const sigAt = fx.signal("SIGTERM");
      const res = await conn.read({ timeoutMs: 5_000 });
      assert.equal(res.status, 200);
      assert.equal(res.body, FIVE_CHUNKS);
      const streamed = res.doneAt - sigAt;
      assert.ok(
        streamed >= 500,
        `the stream ended only ${
          streamed.toFixed(0)
        } ms after SIGTERM: the signal did not land mid-stream`,
      );
      const exit = await exitOf(fx, 5_000);
      assert.equal(exit.code, 0, fx.describe());
      assert.ok(
        exit.atMs - res.doneAt < 3_000,
        `exited ${(exit.atMs - res.doneAt).toFixed(0)} ms after the last chunk`,
      );
      assert.equal(
        fx.events.filter(is("cancel", "/stream")).length,
        0,
        "the stream was cancelled",
      );
      assert.equal(
        fx.events.filter(is("aborted", "/stream")).length,
        0,
        "ctx.signal aborted for a completed stream",
      );
      // Regression: on Bun the handler returns before the body is sent, and the report
      // used to count the stream neither completed nor aborted.
      const report = reportOf(fx);
      assert.equal(report.completed, 1, `the stream is one completed request: ${fx.describe()}`);
      assert.equal(report.aborted, 0);
    });
  });

  // 4
  test("an idle keep-alive connection does not delay exit: SIGTERM exits 0 promptly, not after Node's 5 s keep-alive timeout", async () => {
    await withFixture(runtime, {}, async (fx) => {
      const { conn, res } = await rawRequest(fx.port, "GET", "/fast");
      assert.equal(res.status, 200);
      assert.notEqual(
        res.headers.connection?.toLowerCase(),
        "close",
        "the server closed the connection: nothing to test",
      );
      await sleep(100);
      const sigAt = fx.signal("SIGTERM");
      const exit = await exitOf(fx, 10_000);
      const ms = exit.atMs - sigAt;
      assert.equal(exit.code, 0, fx.describe());
      assert.ok(
        ms < PROMPT_MS,
        `exit took ${ms.toFixed(0)} ms after SIGTERM with one idle keep-alive connection`,
      );
      await within(conn.ended, 2_000, "the idle connection to close");
    });
  });

  // Regression: Node's close() never closes an accepted connection that sent nothing.
  test(
    runtime === "bun"
      ? "known runtime limitation (Bun): a connection that never sends a byte does not delay exit, but the client still sees it open 2 s later"
      : "a connection that never sends a byte does not delay exit: SIGTERM exits 0 promptly and the connection closes",
    async () => {
      await withFixture(runtime, {}, async (fx) => {
        const conn = await RawConnection.connect(fx.port);
        try {
          await sleep(100);
          const sigAt = fx.signal("SIGTERM");
          const exit = await exitOf(fx, 10_000);
          const ms = exit.atMs - sigAt;
          assert.equal(exit.code, 0, fx.describe());
          assert.ok(
            ms < PROMPT_MS,
            `exit took ${ms.toFixed(0)} ms with one silent connection open`,
          );
          // Open question: on Bun 1.4.5 the client sees this socket open 10 s after the process
          // exited (seen every run; uninvestigated; docs/runtimes.md). Asserted as observed, so a
          // change shows up here; Deno and Node close it.
          if (runtime === "bun") {
            const ended = await Promise.race([conn.ended, sleep(2_000).then(() => "open")]);
            assert.equal(ended, "open", "Bun now closes the silent connection: update runtimes.md");
          } else {
            await within(conn.ended, 2_000, "the silent connection to close");
          }
        } finally {
          conn.socket.destroy();
        }
      });
    },
  );
}
