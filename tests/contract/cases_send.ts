/**
 * Contract cases: a response the runtime's server must never be handed as it is (a field value
 * with a control character, `Response.error()`, a body already read) gets `onError`'s answer,
 * logged with the request, and the server serves on; what `Deno.serve` and `Bun.serve` do with
 * what lameduck cannot see before the head (a locked body, a body stream that fails), asserted
 * by name. The fixture's routes are in fixture/send_routes.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { test } from "node:test";
import { binaryOf, ROOT, type RuntimeName } from "./runtimes.ts";
import { type Fixture, withFixture } from "./fixture_process.ts";
import { RawConnection, type RawResponse } from "./client_raw_http.ts";
import { SEND_SECRET } from "./fixture/send_routes.ts";

/** The `stage: "send"` error events the fixture logged for `path`. */
function sendErrors(fx: Fixture, path: string): string[] {
  return fx.events
    .filter((e) =>
      e.event === "log" && e.type === "error" && e.stage === "send" &&
      String(e.request).endsWith(` http://127.0.0.1${path}`)
    )
    .map((e) => String(e.error));
}

/** Reads one response to `path` on `conn`, or says how the connection ended without one. */
async function answer(conn: RawConnection, path: string): Promise<RawResponse | string> {
  conn.send("GET", path);
  try {
    return await conn.read({ timeoutMs: 5_000 });
  } catch {
    return `no complete response, the connection ended: ${await conn.ended}`;
  }
}

/** Registers these cases for `runtime` (inside its describe block). */
export function sendCases(runtime: RuntimeName): void {
  test("a header value with a control character (a query parameter copied into it) gets onError's answer, logged with the request; the connection and the server serve on", async () => {
    await withFixture(runtime, { onError: "teapot" }, async (fx) => {
      const conn = await RawConnection.connect(fx.port);
      const path = "/send/field?name=a%01b";
      const bad = await answer(conn, path);
      assert.ok(typeof bad !== "string", `${bad}\n${fx.describe()}`);
      assert.equal(bad.status, 418, "onError's answer");
      assert.equal(bad.headers["x-on-error"], "teapot");
      assert.ok(!("content-disposition" in bad.headers), JSON.stringify(bad.headers));
      const logged = await fx.waitFor(
        (e) => e.event === "log" && e.type === "error" && e.stage === "send",
        5_000,
        "the send error in the log",
      );
      assert.equal(logged.request, `GET http://127.0.0.1${path}`);
      assert.match(String(logged.error), /^TypeError: .*content-disposition/);
      // HTAB and obs-text are valid field values: sent as they are.
      for (const [query, value] of [["a%09b", "a\tb"], ["caf%C3%A9", "caf\u00e9"]]) {
        const good = await answer(conn, `/send/field?name=${query}`);
        assert.ok(typeof good !== "string", `${query}: ${good}`);
        assert.equal(good.status, 200, query);
        assert.equal(good.headers["content-disposition"], `attachment; filename="${value}"`);
      }
      const fast = await answer(conn, "/fast");
      assert.ok(typeof fast !== "string" && fast.body === "fast", `${fast}\n${fx.describe()}`);
      conn.destroy();
      fx.signal("SIGTERM");
      assert.equal((await fx.exited).code, 0, fx.describe());
    });
  });

  test("Response.error() and a response whose body was already read get onError's answer, logged with the request", async () => {
    await withFixture(runtime, { onError: "teapot" }, async (fx) => {
      const conn = await RawConnection.connect(fx.port);
      for (const path of ["/send/error", "/send/used"]) {
        const r = await answer(conn, path);
        assert.ok(typeof r !== "string", `${path}: ${r}\n${fx.describe()}`);
        assert.equal(r.status, 418, `${path}: ${r.body}`);
        assert.equal(r.headers["x-on-error"], "teapot", path);
        assert.equal(sendErrors(fx, path).length, 1, `${path}: one log line\n${fx.describe()}`);
      }
      conn.destroy();
    });
  });

  test("when onError's answer cannot be sent either, the client gets lameduck's plain 500; both are logged with the request", async () => {
    await withFixture(runtime, { onError: "unsendable" }, async (fx) => {
      const conn = await RawConnection.connect(fx.port);
      const path = "/send/field?name=a%01b";
      const r = await answer(conn, path);
      assert.ok(typeof r !== "string", `${r}\n${fx.describe()}`);
      assert.equal(r.status, 500);
      assert.equal(r.body, "Internal Server Error\n", "lameduck's errorResponse()");
      assert.ok(!("x-bad" in r.headers), JSON.stringify(r.headers));
      const logged = sendErrors(fx, path);
      assert.equal(logged.length, 2, fx.describe());
      assert.match(logged[1]!, /onError's answer cannot be sent either: .*x-bad/);
      // The Node bridge closes the connection after its last-resort 500 (a failed writeHead leaves
      // node:http's response in a state no second answer should share a connection with); the
      // native servers keep it. Either way the server serves on.
      if (runtime === "node") {
        assert.equal(r.headers["connection"], "close");
        assert.match(await conn.ended, /fin/);
      }
      const next = runtime === "node" ? await RawConnection.connect(fx.port) : conn;
      const fast = await answer(next, "/fast");
      assert.ok(typeof fast !== "string" && fast.body === "fast", String(fast));
      conn.destroy();
      next.destroy();
    });
  });

  // The rest asserts what the native servers do with what lameduck cannot see before the head;
  // the Node bridge reads every body itself (its cases: tests/torture/send_test.ts).
  if (runtime === "node") return;

  // A locked body only shows when the body is read, which would cost a stream for every
  // response (native_send.ts); the runtime refuses it instead.
  test(
    runtime === "deno"
      ? "known runtime limitation (Deno): a body locked by a reader gets Deno.serve's own 500 (not onError's), the error on stderr; the server serves on"
      : "a body locked by a reader gets lameduck's 500, not Bun's development error page; the error a warning to the logger; the server serves on",
    async () => {
      await withFixture(runtime, { onError: "teapot" }, async (fx) => {
        const conn = await RawConnection.connect(fx.port);
        const r = await answer(conn, "/send/locked");
        assert.ok(typeof r !== "string", `${r}\n${fx.describe()}`);
        assert.equal(r.status, 500);
        if (runtime === "deno") {
          assert.equal(r.body, "Internal Server Error");
          assert.match(fx.stderr(), /ReadableStream is locked/);
        } else {
          assert.equal(r.body, "Internal Server Error\n", "lameduck's errorResponse()");
          assert.equal(r.headers["cache-control"], "no-store");
          const warning = await fx.waitFor(
            (e) => e.event === "log" && e.type === "warning",
            5_000,
            "the refused response's warning in the log",
          );
          assert.match(
            String(warning.message),
            /^Bun.serve could not send a response: .*already used/,
          );
          assert.doesNotMatch(fx.stderr(), /could not send a response/, "not past the logger");
        }
        const fast = await answer(conn, "/fast");
        assert.ok(typeof fast !== "string" && fast.body === "fast", String(fast));
        conn.destroy();
      });
    },
  );

  test(
    `known runtime limitation (${
      runtime === "deno" ? "Deno" : "Bun"
    }): a body stream that fails before its first chunk is not answered through onError: ${
      runtime === "deno"
        ? "Deno has sent a 200 head and closes the connection without the last chunk"
        : "Bun resets the connection"
    }; the error goes to stderr, not to the logger`,
    async () => {
      await withFixture(runtime, { onError: "teapot" }, async (fx) => {
        const conn = await RawConnection.connect(fx.port);
        const r = await answer(conn, "/send/stream-early");
        assert.equal(
          r,
          `no complete response, the connection ended: ${runtime === "deno" ? "fin" : "rst"}`,
        );
        assert.ok(fx.stderr().includes(SEND_SECRET), fx.describe());
        assert.deepEqual(sendErrors(fx, "/send/stream-early"), []);
        assert.ok(!fx.events.some((e) => e.event === "on-error"), "onError was not called");
      });
    },
  );

  test(
    runtime === "deno"
      ? "a body stream that fails midway is cut (no last chunk) and logged with the request when the handler read ctx.signal; otherwise Deno logs it on stderr (known runtime limitation (Deno))"
      : "known runtime limitation (Bun): a body stream that fails midway is cut (reset) and the error goes to stderr, not to the logger",
    async () => {
      await withFixture(runtime, {}, async (fx) => {
        for (const path of ["/send/stream-midway?watch", "/send/stream-midway"]) {
          const conn = await RawConnection.connect(fx.port);
          const r = await answer(conn, path);
          assert.match(String(r), /^no complete response, the connection ended: (fin|rst)$/, path);
          conn.destroy();
          const tracked: boolean = runtime === "deno" && path.endsWith("watch");
          const logged = sendErrors(fx, path);
          assert.deepEqual(logged, tracked ? [`Error: ${SEND_SECRET}`] : [], path);
        }
        assert.ok(fx.stderr().includes(SEND_SECRET), fx.describe());
      });
    },
  );

  // The runtime bug native_send.ts works around: fails the day Deno stops panicking, so the
  // workaround can be re-checked. Obs-text (0x80-0xff) is sent as is.
  if (runtime === "deno") {
    test('known runtime limitation (Deno): bare Deno.serve panics (exit 1, "invalid response header value") on a field value with a control character or DEL; obs-text is sent', () => {
      for (const byte of [0x01, 0x1f, 0x7f, 0x80, 0xe9]) {
        const run = spawnSync(
          binaryOf("deno"),
          ["run", "-A", "tests/contract/bare_deno_field.ts"],
          {
            cwd: ROOT,
            env: { ...process.env, FIELD_BYTE: String(byte), NO_COLOR: "1" },
            encoding: "utf8",
            timeout: 20_000,
          },
        );
        const what = `byte ${byte}: exit ${run.status}\n${run.stdout}\n${run.stderr.slice(0, 600)}`;
        if (byte >= 0x80) {
          assert.equal(run.status, 0, what);
          assert.match(run.stdout, /^served 200$/m, what);
        } else {
          assert.equal(run.status, 1, what);
          assert.match(run.stderr, /Deno has panicked/, what);
          assert.match(run.stderr, /invalid response header value/, what);
        }
      }
    });
  }
}
