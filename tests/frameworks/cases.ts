/**
 * The contract cases that apply to a framework's app (fixture/routes.ts), served by lameduck as
 * the framework is meant to be served (`listener`, or h3's `fetch`), on each runtime named:
 * serving, errors and readiness without calling the app; at SIGTERM a slow request in flight
 * completes with exactly one `Connection: close` (the app set `Connection: keep-alive`
 * itself), an SSE stream written with `res.write` gets its last event, a new SSE response in
 * the lame-duck window says `Connection: close` once (over the framework's own
 * `Connection: keep-alive`), readiness answers 503 without calling the app, the idle keep-alive
 * connection is closed, and the process exits 0; a deaf handler at `drainTimeout: 300` exits 1.
 *
 * @module
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { join } from "node:path";
import { type Fixture, killLeftovers, start } from "../contract/fixture_process.ts";
import { RawConnection, rawRequest, type RawResponse } from "../contract/client_raw_http.ts";
import { is, reportOf } from "../contract/fixture_events.ts";
import { forRuntime } from "../contract/runtime_selection.ts";
import type { RuntimeName } from "../contract/runtimes.ts";
import { PROMPT_MS, within } from "../shared/time.ts";
import type { FrameworkConfig, FrameworkName } from "./fixture/config.ts";
import { slowBody } from "./fixture/routes.ts";

const FIXTURE = join("tests", "frameworks", "fixture", "main.ts");
const LAME_DUCK_MS = 800;
const SLOW_MS = 1_500;

/** Starts the framework fixture (Nest and Deno start slowly on a loaded machine). */
export const launch = (runtime: RuntimeName, config: FrameworkConfig): Promise<Fixture> =>
  start(runtime, config, 30_000, FIXTURE);

/** The SSE event names of a body (`message` for a block without `event:`). */
const eventNames = (body: string): string[] =>
  body.split("\n\n").filter((b) => b.trim() !== "").map((b) =>
    /^event: ?(.*)$/m.exec(b)?.[1] ?? "message"
  );

/** The `request` lines the app wrote for `path`. */
const reachedApp = (fx: Fixture, path: string) =>
  fx.events.filter((e) => e.event === "request" && e.path === path).length;

/** Settles into the value or `{ error }`, so each test reports its own part of one run. */
type Seen<T> = { ok: T } | { error: string };
const seen = <T>(p: Promise<T>): Promise<Seen<T>> =>
  p.then((ok) => ({ ok }), (e: unknown) => ({ error: String(e) }));
const value = <T>(s: Seen<T>): T => {
  if ("error" in s) assert.fail(s.error);
  return s.ok;
};

interface Drain {
  slow: Seen<RawResponse>;
  sse: Seen<RawResponse>;
  sseEnded: Seen<string>;
  lateSse: Seen<RawResponse>;
  readyz: Seen<RawResponse>;
  readyzReachedApp: number;
  idleEnded: Seen<string>;
  exitCode: number | null;
  exitAfterSlowMs: number;
}

/** One SIGTERM with a slow request, an SSE stream and an idle keep-alive connection open. */
async function drainAcrossSigterm(fx: Fixture): Promise<Drain> {
  const idle = await rawRequest(fx.port, "GET", "/fast");
  assert.notEqual(idle.res.headers.connection, "close", "the idle connection was closed early");
  const slowConn = await RawConnection.connect(fx.port);
  slowConn.send("GET", `/slow?ms=${SLOW_MS}`);
  const sseConn = await RawConnection.connect(fx.port);
  let raw = "";
  const twoTicks = new Promise<void>((resolve) =>
    sseConn.socket.on("data", (chunk: Buffer) => {
      raw += chunk.toString("latin1");
      if (raw.split("tick").length > 2) resolve();
    })
  );
  sseConn.send("GET", "/events", { Accept: "text/event-stream" });
  const sse = seen(sseConn.read({ timeoutMs: 15_000 }));
  await fx.waitFor(is("entered", "/slow"), 10_000, "/slow to be entered");
  await within(twoTicks, 10_000, `two SSE ticks\n${fx.describe()}`);

  fx.signal("SIGTERM");
  await fx.waitFor((e) => e.event === "log" && e.type === "draining", 5_000, "draining");
  const readyz = await seen(
    rawRequest(fx.port, "GET", "/readyz").then(({ conn, res }) => {
      conn.destroy();
      return res;
    }),
  );
  const lateSse = await seen(
    rawRequest(fx.port, "GET", "/events").then(({ conn, res }) => {
      conn.destroy();
      return res;
    }),
  );
  const slow = await seen(slowConn.read({ timeoutMs: 10_000 }));
  const exit = await within(fx.exited, 15_000, `the exit\n${fx.describe()}`);
  await within(fx.closed, 5_000, "stdout to close");
  return {
    slow,
    sse: await sse,
    sseEnded: await seen(within(sseConn.ended, 5_000, "the SSE connection to end")),
    lateSse,
    readyz,
    readyzReachedApp: reachedApp(fx, "/readyz"),
    idleEnded: await seen(within(idle.conn.ended, 5_000, "the idle connection to end")),
    exitCode: exit.code,
    exitAfterSlowMs: "ok" in slow ? exit.atMs - slow.ok.doneAt : NaN,
  };
}

/** Registers the cases for `framework` on each of `runtimes`. */
export function frameworkCases(framework: FrameworkName, runtimes: RuntimeName[]): void {
  for (const runtime of runtimes) {
    forRuntime(runtime, `${framework} through lameduck`, () => casesOn(framework, runtime));
  }
}

function casesOn(framework: FrameworkName, runtime: RuntimeName): void {
  describe(`${framework} on ${runtime}`, () => {
    after(killLeftovers);
    let fx: Fixture;
    let drain: Promise<Drain>;
    before(async () => {
      fx = await launch(runtime, {
        framework,
        readiness: "/readyz",
        lameDuck: LAME_DUCK_MS,
        drainTimeout: 5_000,
      });
    });
    after(() => fx?.kill());

    test("serves the app: a fast answer, readiness 200 without calling the app, the framework's own 500 for a throw, then serving goes on", async () => {
      const { conn, res } = await rawRequest(fx.port, "GET", "/fast");
      assert.equal(res.status, 200, fx.describe());
      assert.equal(res.body, "fast");
      const ready = await conn.request("GET", "/readyz");
      assert.equal(ready.status, 200);
      conn.destroy();
      const error = await rawRequest(fx.port, "GET", "/error");
      assert.equal(error.res.status, 500, error.res.body);
      error.conn.destroy();
      const again = await rawRequest(fx.port, "GET", "/fast");
      assert.equal(again.res.status, 200);
      again.conn.destroy();
      assert.equal(reachedApp(fx, "/readyz"), 0, "readiness called the app");
      assert.equal(reachedApp(fx, "/error"), 1);
    });

    test(`SIGTERM lets a ${SLOW_MS} ms request finish with exactly one Connection: close (over the app's own keep-alive), then exit 0`, async () => {
      drain = drainAcrossSigterm(fx);
      const { slow, exitCode, exitAfterSlowMs } = await drain;
      const res = value(slow);
      assert.equal(res.status, 200);
      assert.equal(res.body, slowBody(SLOW_MS));
      assert.equal(res.headers.connection, "close", JSON.stringify(res.headers));
      assert.equal(exitCode, 0, fx.describe());
      assert.ok(exitAfterSlowMs < PROMPT_MS, `exited ${exitAfterSlowMs.toFixed(0)} ms later`);
      const report = reportOf(fx);
      assert.equal(report.graceful, true);
      assert.equal(report.aborted, 0);
    });

    test("an SSE stream open at SIGTERM gets its final event and a complete body; the connection ends with a FIN", async () => {
      const { sse, sseEnded } = await drain;
      const res = value(sse);
      assert.equal(res.status, 200);
      const names = eventNames(res.body);
      assert.ok(names.filter((n) => n === "tick").length >= 2, names.join(","));
      assert.equal(names.at(-1), "bye", names.join(","));
      assert.equal(value(sseEnded), "fin");
    });

    test("in the lame-duck window readiness answers 503 without calling the app, and a new SSE response says Connection: close once", async () => {
      const { readyz, readyzReachedApp, lateSse } = await drain;
      assert.equal(value(readyz).status, 503);
      assert.equal(readyzReachedApp, 0, "readiness called the app");
      const late = value(lateSse);
      assert.equal(late.status, 200);
      assert.equal(late.headers.connection, "close", JSON.stringify(late.headers));
      assert.equal(eventNames(late.body).at(-1), "bye");
    });

    test("the idle keep-alive connection is closed (FIN) by the shutdown", async () => {
      assert.equal(value((await drain).idleEnded), "fin");
    });

    test("a handler that never answers is cut at drainTimeout 300: exit 1 promptly", async () => {
      const deaf = await launch(runtime, { framework, drainTimeout: 300 });
      try {
        const conn = await RawConnection.connect(deaf.port);
        conn.send("GET", "/never");
        await deaf.waitFor(is("entered", "/never"), 10_000, "/never to be entered");
        const sigAt = deaf.signal("SIGTERM");
        const exit = await within(deaf.exited, 10_000, `the exit\n${deaf.describe()}`);
        const ms = exit.atMs - sigAt;
        assert.equal(exit.code, 1, deaf.describe());
        assert.ok(ms >= 290, `exited ${ms.toFixed(0)} ms after SIGTERM`);
        assert.ok(ms < 300 + PROMPT_MS, `exited ${ms.toFixed(0)} ms after SIGTERM`);
        await within(deaf.closed, 5_000, "stdout to close");
        const report = reportOf(deaf);
        assert.equal(report.graceful, false);
        assert.equal(report.aborted, 1);
        conn.destroy();
      } finally {
        deaf.kill();
      }
    });
  });
}
