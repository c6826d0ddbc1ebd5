/**
 * Contract cases: one URL on every runtime and path (`src/adapters/request_url.ts`). A `Host`
 * that is not a valid authority gets `400` with `Connection: close` and never reaches the
 * handler; the handler's `request.url` is what the WHATWG URL parser makes of
 * `http://<Host><target>`. Run on both paths (`Deno.serve`/`Bun.serve`/`node:http`, and
 * `node:http` on an inherited socket), on Node with `overrideGlobals` on and off.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { FixtureConfig } from "../shared/fixture_config.ts";
import type { Fixture } from "./fixture_process.ts";
import { RawConnection, type RawResponse } from "./client_raw_http.ts";
import type { RuntimeName } from "./runtimes.ts";
import { type Path, withPath } from "./cases_paths.ts";

/** `Host` values that form no valid authority. */
const BAD_HOSTS = [
  "good.example/admin",
  "a b",
  "a@b",
  "[::1",
  "good.example:99999",
  "good.example?q",
  "good.example#f",
];

/** Targets and the URL path the handler must see for them (the URL parser's). */
const PATHS: [string, string][] = [
  ["/req/url/a/../b", "/req/url/b"],
  ["/req/url/a/./b", "/req/url/a/b"],
  ["/req/url/a\\..\\b", "/req/url/b"],
  ["/req/url/q/%2e%2E/x", "/req/url/x"],
  ["/req/url/q/%2e/x?y=/../z", "/req/url/q/x?y=/../z"],
  ["/req/url//x", "/req/url//x"],
  ["/req/url/plain?q=1", "/req/url/plain?q=1"],
];

/** Sends one request with exactly these header lines on a new connection; reads the answer. */
async function raw(port: number, requestLine: string, headers: string[]): Promise<RawResponse> {
  const conn = await RawConnection.connect(port);
  try {
    conn.socket.write([requestLine, ...headers].join("\r\n") + "\r\n\r\n");
    return await conn.read({ timeoutMs: 8_000 });
  } finally {
    conn.destroy();
  }
}

/** The setups these cases run in on `runtime`. */
function setups(runtime: RuntimeName): { name: string; path: Path; config: FixtureConfig }[] {
  const list: { name: string; path: Path; config: FixtureConfig }[] = [
    { name: "direct", path: "direct", config: {} },
  ];
  if (runtime === "node") {
    const off = { overrideGlobals: false } as FixtureConfig;
    list.push({ name: "direct (overrideGlobals: false)", path: "direct", config: off });
  }
  list.push({ name: "inherited", path: "inherited", config: {} });
  return list;
}

/** The number of requests that reached the app so far. */
const fetches = (fx: Fixture): number => fx.events.filter((e) => e.event === "fetch").length;

/** Registers these cases for `runtime` (inside its describe block). */
export function urlCases(runtime: RuntimeName): void {
  for (const { name, path, config } of setups(runtime)) {
    test(`${name}: a Host that is not a valid authority gets 400 with Connection: close, and the handler is not called`, async () => {
      await withPath(runtime, path, { ...config, trace: true }, async (fx) => {
        for (const host of BAD_HOSTS) {
          const before = fetches(fx);
          const res = await raw(fx.port, "GET /req/url/secret HTTP/1.1", [`Host: ${host}`]);
          assert.equal(res.status, 400, `Host: ${host} got ${res.status} ${res.body}`);
          assert.equal(res.headers.connection, "close", `Host: ${host}`);
          // A good request after it: its trace line comes after any the bad one caused.
          const good = await raw(fx.port, "GET /req/url/x HTTP/1.1", ["Host: good.example"]);
          assert.equal(good.status, 200, fx.describe());
          await fx.waitFor(() => fetches(fx) > before, 5_000, "the good request's trace");
          assert.equal(fetches(fx), before + 1, `Host: ${host} reached the handler`);
        }
      });
    });

    test(`${name}: the handler sees the URL parser's host and path (dot segments, backslashes, %2e, case, default port)`, async () => {
      await withPath(runtime, path, config, async (fx) => {
        for (const [target, expected] of PATHS) {
          const res = await raw(fx.port, `GET ${target} HTTP/1.1`, ["Host: good.example"]);
          assert.equal(res.status, 200, `${target}: ${res.status} ${res.body}`);
          assert.equal(res.body, `http://good.example${expected}`, target);
        }
        const cased = await raw(fx.port, "GET /req/url/x HTTP/1.1", ["Host: Good.EXAMPLE:80"]);
        assert.equal(cased.body, "http://good.example/req/url/x", "Host: Good.EXAMPLE:80");
        const empty = await raw(fx.port, "GET /req/url/x HTTP/1.1", ["Host: "]);
        assert.equal(empty.status, 200, `empty Host: ${empty.status} ${empty.body}`);
        assert.equal(empty.body, `http://127.0.0.1:${fx.port}/req/url/x`, "empty Host: the origin");
        // Deno keeps an http:// target's authority (RFC 9112 §3.2.2); see deno_url.ts.
        const absolute = await raw(fx.port, "GET http://other.example/req/url/a/../b HTTP/1.1", [
          "Host: good.example",
        ]);
        const authority = runtime === "deno" && path === "direct"
          ? "other.example"
          : "good.example";
        assert.equal(absolute.body, `http://${authority}/req/url/b`, "absolute-form target");
      });
    });

    // Deno.serve cannot tell an HTTP/1.1 request without Host from an HTTP/1.0 one (no
    // version on its Request), and builds `http://localhost:<port>` for both.
    const limited = runtime === "deno" && path === "direct";
    const what = limited
      ? "is served as http://localhost:<port> on Deno.serve (known runtime limitation (Deno))"
      : "gets 400";
    test(`${name}: an HTTP/1.1 request without Host ${what}; HTTP/1.0 is served`, async () => {
      await withPath(runtime, path, config, async (fx) => {
        const missing = await raw(fx.port, "GET /req/url/x HTTP/1.1", []);
        if (limited) {
          assert.equal(missing.status, 200, "Deno.serve answers 400 now: drop the limitation");
          assert.equal(missing.body, `http://localhost:${fx.port}/req/url/x`);
        } else {
          assert.equal(missing.status, 400, `${missing.status} ${missing.body}`);
          assert.equal(missing.headers.connection, "close");
        }
        const old = await raw(fx.port, "GET /req/url/x HTTP/1.0", []);
        assert.equal(old.status, 200, `HTTP/1.0: ${old.status} ${old.body}`);
      });
    });
  }
}
