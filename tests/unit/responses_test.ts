import { test } from "node:test";
import assert from "node:assert/strict";
import { pathOf, withConnectionClose } from "../../src/core/responses.ts";
import { formatEvent } from "../../src/core/log.ts";

test("pathOf() returns the path without query or fragment", () => {
  assert.equal(pathOf("http://a:1/readyz"), "/readyz");
  assert.equal(pathOf("http://a:1/readyz?x=1"), "/readyz");
  assert.equal(pathOf("http://a/x/y#z"), "/x/y");
  assert.equal(pathOf("http://a"), "/");
});

test("withConnectionClose() sets the header, copying immutable responses", async () => {
  const plain = withConnectionClose(new Response("x"));
  assert.equal(plain.headers.get("connection"), "close");
  const redirect = withConnectionClose(Response.redirect("http://example.test/", 302));
  assert.equal(redirect.headers.get("connection"), "close");
  assert.equal(redirect.headers.get("location"), "http://example.test/");
  assert.equal(redirect.status, 302);
  assert.equal(await withConnectionClose(new Response("body")).text(), "body");
});

test("formatEvent() writes one concise line per event", () => {
  assert.equal(
    formatEvent({
      type: "draining",
      reason: "SIGTERM",
      inFlight: 1,
      lameDuckMs: 0,
      drainTimeoutMs: 10_000,
      signals: [],
    }),
    "SIGTERM: draining 1 request, at most 10.0 s",
  );
  assert.equal(
    formatEvent({
      type: "closed",
      report: {
        reason: "SIGTERM",
        graceful: false,
        durationMs: 12,
        completed: 3,
        aborted: 1,
        hooks: [{ name: "db", ok: true, durationMs: 1 }],
      },
    }),
    "closed after 12 ms (forced): 3 completed, 1 aborted, hooks 1/1 ok",
  );
});

// Mutation testing (npm run mutate): every response the core makes itself, exactly.
test("the core's own responses: status, body and headers exactly", async () => {
  const { readinessResponse, overloadedResponse, errorResponse, forcedResponse } = await import(
    "../../src/core/responses.ts"
  );
  const TEXT = "text/plain;charset=utf-8";
  const check = async (
    response: Response,
    status: number,
    body: string,
    extra: Record<string, string> = {},
  ) => {
    assert.equal(response.status, status);
    assert.equal(await response.text(), body);
    assert.deepEqual(Object.fromEntries(response.headers), {
      "cache-control": "no-store",
      "content-type": TEXT,
      ...extra,
    });
  };
  await check(readinessResponse(true, false), 200, "ok\n");
  await check(readinessResponse(false, false), 503, "draining\n");
  await check(readinessResponse(true, true), 200, "");
  await check(readinessResponse(false, true), 503, "");
  await check(
    overloadedResponse(),
    503,
    "Service Unavailable: too many requests in flight\n",
    { "retry-after": "1" },
  );
  await check(errorResponse(), 500, "Internal Server Error\n");
  await check(forcedResponse(), 503, "Service Unavailable: server shutting down\n", {
    connection: "close",
  });
});

test("withConnectionClose() changes a mutable response in place", () => {
  const response = new Response("x");
  assert.equal(withConnectionClose(response), response);
  assert.equal(response.headers.get("connection"), "close");
});

// Mutation testing (npm run mutate): the default logger's line for every event type.
test("formatEvent() has one exact line for each lifecycle event", () => {
  const address = { hostname: "127.0.0.1", port: 8000, url: "http://127.0.0.1:8000/" };
  const error = new TypeError("bad");
  delete error.stack; // the `${name}: ${message}` fallback
  const lines = [
    formatEvent({ type: "listening", address, runtime: "node" }),
    formatEvent({
      type: "draining",
      reason: "SIGINT",
      inFlight: 2,
      lameDuckMs: 5_000,
      drainTimeoutMs: 10_000,
      signals: ["SIGINT", "SIGTERM"],
    }),
    formatEvent({ type: "progress", inFlight: 1, elapsedMs: 2_345 }),
    formatEvent({ type: "progress", inFlight: 3, elapsedMs: 1_000 }),
    formatEvent({ type: "forced", inFlight: 1, cause: "deadline", elapsedMs: 10_000 }),
    formatEvent({ type: "forced", inFlight: 2, cause: "SIGTERM", elapsedMs: 20 }),
    formatEvent({ type: "forced", inFlight: 0, cause: "close()", elapsedMs: 0 }),
    formatEvent({ type: "hook", hook: { name: "db", ok: true, durationMs: 4 } }),
    formatEvent({ type: "hook", hook: { name: "db", ok: false, durationMs: 5, error: "boom" } }),
    formatEvent({ type: "error", error, request: new Request("http://a.test/x") }),
    formatEvent({ type: "error", error, request: new Request("http://a.test/y"), stage: "send" }),
    formatEvent({ type: "error", error: "plain" }),
    formatEvent({ type: "failed", error: new Error("address in use"), address: "0.0.0.0:8000" }),
    formatEvent({ type: "warning", message: "an option cannot take effect" }),
    formatEvent({
      type: "closed",
      report: {
        reason: "SIGTERM",
        graceful: true,
        durationMs: 7,
        completed: 0,
        aborted: 0,
        hooks: [],
      },
    }),
    formatEvent({
      type: "closed",
      report: {
        reason: "SIGTERM",
        graceful: true,
        durationMs: 7,
        completed: 2,
        aborted: 0,
        hooks: [{ name: "a", ok: true, durationMs: 1 }, {
          name: "b",
          ok: false,
          durationMs: 1,
          error: "x",
        }],
      },
      exitCode: 1,
    }),
  ];
  assert.deepEqual(lines, [
    "listening on http://127.0.0.1:8000/ (node)",
    "SIGINT: draining 2 requests: lame-duck window of 5.0 s starts (still serving, readiness " +
    "503), then the listener closes and the drain lasts at most 10.0 s; a second SIGINT or " +
    "SIGTERM forces the shutdown",
    "draining: 1 request in flight after 2.3 s",
    "draining: 3 requests in flight after 1.0 s",
    "drain deadline passed after 10.0 s: aborting 1 request",
    "second SIGTERM forces the shutdown: aborting 2 requests",
    "close() forces the shutdown: aborting 0 requests",
    'hook "db" done in 4 ms',
    'hook "db" failed after 5 ms: boom',
    "GET http://a.test/x: fetch failed: TypeError: bad",
    "GET http://a.test/y: cannot send the response: TypeError: bad",
    "error: plain",
    "cannot listen on 0.0.0.0:8000: address in use",
    "an option cannot take effect",
    "closed after 7 ms (graceful): 0 completed, 0 aborted",
    "closed after 7 ms (graceful): 2 completed, 0 aborted, hooks 1/2 ok; exiting with code 1",
  ]);
});

test("logToStderr() prints the event's line, prefixed with lameduck:", async () => {
  const { logToStderr } = await import("../../src/core/log.ts");
  const printed: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void printed.push(args);
  try {
    logToStderr({ type: "forced", inFlight: 1, cause: "deadline", elapsedMs: 300 });
  } finally {
    console.error = original;
  }
  assert.deepEqual(printed, [["lameduck: drain deadline passed after 0.3 s: aborting 1 request"]]);
});
