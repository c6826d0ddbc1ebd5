/**
 * The core server around the shutdown sequence, in-process: what it asks the adapter, what it
 * logs and where, a failed start, the in-flight count an adapter adds to, and the readiness and
 * overload answers of its gate. Written for the survivors of `npm run mutate`
 * (contributing/mutation.md).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Exchange } from "../../src/core/exchange.ts";
import type { LifecycleEvent } from "../../src/core/types.ts";
import { resolveOptions } from "../../src/core/options.ts";
import { LameduckServer } from "../../src/core/server.ts";
import { SignalHub } from "../../src/core/signals.ts";
import { FakeAdapter, FakeClock, fakePlatform, fakeServer, settle } from "./core_harness.ts";

const never = () => new Promise<Response>(() => {});

function opened(value: Exchange | Response): Exchange {
  assert.ok(value instanceof Exchange, "expected an exchange, got an answer from the core");
  return value;
}

/** Runs `fn` with console.error recorded. */
async function stderr(fn: () => Promise<void>): Promise<unknown[][]> {
  const printed: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void printed.push(args);
  try {
    await fn();
  } finally {
    console.error = original;
  }
  return printed;
}

test("listen() gets port, hostname, websocket and tls; reusePort only when asked; an inherited fd instead of reusePort", async () => {
  const websocket = { message() {} };
  const plain = await fakeServer({ port: 8080, hostname: "0.0.0.0", websocket });
  assert.deepEqual(plain.adapter.listenOptions, {
    port: 8080,
    hostname: "0.0.0.0",
    websocket,
    tls: undefined,
  });
  const reuse = await fakeServer({ port: 8080 }, { reusePort: true });
  assert.equal(reuse.adapter.listenOptions?.reusePort, true);
  const noReuse = await fakeServer({ port: 8080 }, { reusePort: false });
  assert.equal("reusePort" in noReuse.adapter.listenOptions!, false);
  const inherited = await fakeServer({ port: 8080 }, { fd: 3, reusePort: true });
  assert.equal(inherited.adapter.listenOptions?.fd, 3);
  assert.equal("reusePort" in inherited.adapter.listenOptions!, false);
});

test("an onListen that throws is reported as an error; the server still listens", async () => {
  const boom = new Error("onListen bug");
  const { server, events } = await fakeServer({
    onListen: () => {
      throw boom;
    },
  });
  assert.equal((await server.ready).port, 1);
  assert.deepEqual(events.slice(0, 2), [
    { type: "listening", address: await server.ready, runtime: "node" },
    { type: "error", error: boom },
  ]);
  assert.equal(server.state, "serving");
});

test("the default logger prints on stderr, but not the listening line when onListen is given; logger: false prints nothing", async () => {
  const quiet = await stderr(async () => {
    const { server, clock } = await fakeServer({ logger: undefined });
    void server.shutdown({ reason: "test" });
    await clock.advance(10);
    await server.finished;
  });
  assert.deepEqual(quiet, [
    ["lameduck: test: draining 0 requests, at most 10.0 s; a second SIGINT or SIGTERM forces the shutdown"],
    ["lameduck: closed after 0 ms (graceful): 0 completed, 0 aborted"],
  ]);
  const loud = await stderr(async () => {
    await fakeServer({ logger: undefined, onListen: undefined });
  });
  assert.deepEqual(loud, [["lameduck: listening on http://127.0.0.1:1/ (node)"]]);
  const off = await stderr(async () => {
    const { server, clock } = await fakeServer({ logger: false, onListen: undefined });
    void server.shutdown();
    await clock.advance(10);
    await server.finished;
  });
  assert.deepEqual(off, []);
});

test("a logger that throws is reported on stderr and does not stop the shutdown", async () => {
  const broken = new Error("logger bug");
  let calls = 0;
  const printed = await stderr(async () => {
    const { server, clock } = await fakeServer({
      logger: () => {
        calls++;
        throw broken;
      },
    });
    void server.shutdown();
    await clock.advance(10);
    assert.equal((await server.finished).graceful, true);
  });
  assert.ok(calls >= 3);
  assert.equal(printed.length, calls);
  assert.deepEqual(printed[0], ["lameduck: the logger threw:", broken]);
});

test("a failed start aborts server.signal, reports the address, runs and reports hooks, and exits 1 only with exit: true", async () => {
  const error = new Error("address in use");
  const p = fakePlatform();
  const events: LifecycleEvent[] = [];
  const server = new LameduckServer(
    resolveOptions({
      fetch: () => new Response("ok"),
      port: 8000,
      hostname: "0.0.0.0",
      logger: (event: LifecycleEvent) => void events.push(event),
    }),
    {
      runtime: "node",
      adapter: Promise.resolve(new FakeAdapter({ listenError: error })),
      hub: new SignalHub(p.platform),
      clock: new FakeClock(),
    },
  );
  server.onShutdown(() => {}, { name: "cleanup" });
  const r = await server.finished;
  await settle();
  assert.equal(server.signal.aborted, true);
  assert.equal((server.signal.reason as DOMException).name, "AbortError");
  assert.equal((server.signal.reason as DOMException).message, "Failed to start");
  assert.deepEqual(events[0], { type: "failed", error, address: "0.0.0.0:8000" });
  assert.deepEqual(events.map((e) => e.type), ["failed", "hook"]);
  assert.deepEqual(r, {
    reason: 'listen failed: "address in use"',
    graceful: false,
    durationMs: 0,
    completed: 0,
    aborted: 0,
    hooks: r.hooks,
  });
  assert.deepEqual(r.hooks.map((h) => [h.name, h.ok]), [["cleanup", true]]);
  assert.deepEqual(p.exits, [1]);
  assert.equal(p.listening("SIGTERM"), 0);
  assert.equal(await server.shutdown(), r, "shutdown() after a failed start");

  const quiet = fakePlatform();
  const inherited = await fakeServer({ exit: false }, {
    platform: quiet,
    fd: 3,
    adapter: new FakeAdapter({ listenError: "EBADF" }),
  });
  const r2 = await inherited.server.finished;
  await settle();
  assert.equal(r2.reason, 'listen failed: "EBADF"');
  assert.deepEqual(inherited.events[0], {
    type: "failed",
    error: "EBADF",
    address: "inherited socket (fd 3)",
  });
  assert.deepEqual(quiet.exits, []);
});

test("inFlight: the adapter's answer, given the core's count of requests", async () => {
  const adapter = new FakeAdapter();
  const { server, request } = await fakeServer({ fetch: never }, { adapter });
  opened(request().opened).respond();
  opened(request().opened).respond();
  assert.equal(server.inFlight, 2);
  const asked: number[] = [];
  Object.assign(adapter, { inFlight: (requests: number) => (asked.push(requests), 5) });
  assert.equal(server.inFlight, 5);
  Object.assign(adapter, { inFlight: (requests: number) => (asked.push(requests), requests + 3) });
  assert.equal(server.inFlight, 5);
  assert.deepEqual(asked, [2, 2]);
});

test("a forced drain counts the adapter's upgraded connections as aborted", async () => {
  const adapter = Object.assign(new FakeAdapter(), {
    inFlight: (requests: number) => requests + 2,
  });
  const { server, request, clock, events } = await fakeServer({ fetch: never, drainTimeout: 100 }, {
    adapter,
  });
  opened(request().opened).respond();
  const report = server.shutdown();
  assert.deepEqual(events.find((e) => e.type === "draining"), {
    type: "draining",
    reason: "shutdown()",
    inFlight: 3,
    lameDuckMs: 0,
    drainTimeoutMs: 100,
    signals: ["SIGINT", "SIGTERM"],
  });
  await clock.advance(400);
  const r = await report;
  assert.equal(r.aborted, 3);
  assert.equal(r.completed, 0);
});

test("await using: disposing the server shuts it down gracefully", async () => {
  const { server, clock } = await fakeServer();
  const disposed = server[Symbol.asyncDispose]();
  assert.equal(server.state, "draining");
  await clock.advance(10);
  await disposed;
  assert.equal(server.state, "closed");
  assert.equal((await server.finished).reason, "shutdown()");
});

test("an onError that throws is reported with the request, and the default 500 is sent", async () => {
  const fetchError = new Error("boom");
  const onErrorError = new Error("onError bug");
  const { request, events } = await fakeServer({
    fetch: () => {
      throw fetchError;
    },
    onError: () => {
      throw onErrorError;
    },
  });
  const { opened: exchange } = request("/x");
  const response = await opened(exchange).respond();
  assert.equal(response.status, 500);
  const errors = events.filter((e): e is Extract<LifecycleEvent, { type: "error" }> =>
    e.type === "error"
  );
  assert.deepEqual(errors.map((e) => [e.error, e.request?.url]), [
    [fetchError, "http://127.0.0.1:1/x"],
    [onErrorError, "http://127.0.0.1:1/x"],
  ]);
  const plain = await fakeServer({ fetch: () => Promise.reject(fetchError) });
  assert.equal((await opened(plain.request().opened).respond()).status, 500);
  assert.equal(plain.events.filter((e) => e.type === "error").length, 1);
});

test("a close() that rejects still ends in a graceful shutdown", async () => {
  const adapter = new FakeAdapter({ closeError: new Error("already closed") });
  const { server, clock } = await fakeServer({ drainTimeout: 1_000 }, { adapter });
  const report = server.shutdown();
  await clock.advance(10);
  const r = await report;
  assert.equal(r.graceful, true);
  assert.ok(r.durationMs < 1_000);
});

test("after a graceful drain the adapter is still told to cut what is left, and no timer is left behind", async () => {
  const { server, request, clock, adapter } = await fakeServer({ fetch: never });
  const a = opened(request().opened);
  a.respond();
  const report = server.shutdown();
  await clock.advance(1_500);
  a.end();
  await clock.advance(1);
  await report;
  assert.deepEqual(adapter.calls, ["listen", "close", "force"]);
  assert.equal(clock.pending, 0);
});

test("a second signal forces the drain with its name as the cause; durations are whole milliseconds", async () => {
  const p = fakePlatform();
  const { server, request, clock, events } = await fakeServer({ fetch: never }, { platform: p });
  opened(request().opened).respond();
  await clock.advance(1_000); // The shutdown does not start at time 0.
  p.send("SIGTERM");
  await clock.advance(10.4);
  p.send("SIGINT");
  await clock.advance(200);
  const r = await server.finished;
  assert.deepEqual(events.find((e) => e.type === "forced"), {
    type: "forced",
    inFlight: 1,
    cause: "SIGINT",
    elapsedMs: 10,
  });
  assert.equal(r.reason, "SIGTERM");
  assert.equal(Number.isInteger(r.durationMs), true);
});

test("close() during the lame-duck window ends it at once", async () => {
  const { server, clock, adapter } = await fakeServer({ lameDuck: 10_000 });
  void server.shutdown();
  await clock.advance(100);
  assert.deepEqual(adapter.calls, ["listen"]);
  const closing = server.close();
  await clock.advance(0);
  assert.ok(adapter.calls.includes("close"));
  await clock.advance(200);
  assert.equal((await closing).graceful, false);
});

test("a forced shutdown cuts connections as soon as the forced answers are written (the adapter's force() gives the runtime its turn)", async () => {
  const adapter = new FakeAdapter({ closesAtOnce: false });
  const { server, request, clock } = await fakeServer({ fetch: never, drainTimeout: 10 }, {
    adapter,
  });
  const a = opened(request().opened);
  const answered = a.respond();
  const report = server.shutdown();
  await clock.advance(10);
  await answered;
  assert.equal(adapter.calls.includes("force"), false, "the cut waits for the forced answer");
  a.end(); // The adapter wrote the forced answer.
  await settle();
  assert.ok(adapter.calls.includes("force"), "no timer turn and no grace period before the cut");
  adapter.finishClose();
  await clock.advance(100);
  await report;
});

test("readiness answers GET and HEAD only; another method, or readiness: false, reaches fetch", async () => {
  const { request } = await fakeServer({ readiness: "/readyz", fetch: never });
  const get = request("/readyz?probe=1").opened;
  assert.ok(get instanceof Response);
  assert.equal(get.status, 200);
  assert.notEqual(get.body, null);
  const head = request("/readyz", "HEAD").opened;
  assert.ok(head instanceof Response);
  assert.equal(head.status, 200);
  assert.equal(head.body, null);
  opened(request("/readyz", "POST").opened);
  opened(request("/other").opened);
  const off = await fakeServer({ readiness: false, fetch: never });
  opened(off.request("/readyz").opened);
});

test("with lameDuck: 0 the listener closes at once, without waiting for a timer", async () => {
  const { server, clock, adapter } = await fakeServer({ lameDuck: 0 });
  void server.shutdown();
  await settle();
  assert.deepEqual(adapter.calls.slice(0, 2), ["listen", "close"]);
  await clock.advance(10);
  await server.finished;
});

test("server.signal's reason says the shutdown's reason; a forced drain aborts ctx.signal with its own", async () => {
  const { server, request, clock } = await fakeServer({ fetch: never, drainTimeout: 10 });
  const a = opened(request().opened);
  a.respond();
  const signal = a.ctx.signal;
  void server.shutdown({ reason: "deploy" });
  const reason = server.signal.reason as DOMException;
  assert.ok(reason instanceof DOMException);
  assert.deepEqual([reason.name, reason.message], ["AbortError", "Shutting down: deploy"]);
  await clock.advance(10);
  const cut = signal.reason as DOMException;
  assert.ok(cut instanceof DOMException);
  assert.deepEqual([cut.name, cut.message], ["AbortError", "Forced shutdown: deploy"]);
  await clock.advance(200);
  await server.finished;
});

test("no progress event while only the adapter's close() is pending, with nothing in flight", async () => {
  const adapter = new FakeAdapter({ closesAtOnce: false });
  const { server, clock, types } = await fakeServer({ drainTimeout: 10_000 }, { adapter });
  void server.shutdown();
  await clock.advance(3_500);
  assert.equal(server.state, "draining");
  adapter.finishClose();
  await clock.advance(1);
  await server.finished;
  assert.deepEqual(types(), ["listening", "draining", "closed"]);
});

test("a signal's graceful shutdown with hooks that all succeeded exits 0", async () => {
  const p = fakePlatform();
  const { server, clock } = await fakeServer({}, { platform: p });
  server.onShutdown(() => {}, { name: "a" });
  server.onShutdown(() => Promise.resolve(), { name: "b" });
  p.send("SIGTERM");
  await clock.advance(10);
  await server.finished;
  await settle();
  assert.deepEqual(p.exits, [0]);
});

test("before the adapter listened: inFlight is 0, and a shutdown ends with a report even when the listen then fails", async () => {
  let fail!: (error: unknown) => void;
  const adapter = new FakeAdapter();
  adapter.listen =
    (() => new Promise((_, reject) => fail = reject)) as unknown as FakeAdapter["listen"];
  const p = fakePlatform();
  const events: LifecycleEvent[] = [];
  const clock = new FakeClock();
  const server = new LameduckServer(
    resolveOptions({
      fetch: () => new Response("ok"),
      logger: (event: LifecycleEvent) => void events.push(event),
    }),
    { runtime: "node", adapter: Promise.resolve(adapter), hub: new SignalHub(p.platform), clock },
  );
  server.ready.catch(() => {});
  await settle();
  assert.equal(server.inFlight, 0);
  const report = server.shutdown();
  assert.equal(server.state, "draining");
  fail(new Error("address in use"));
  await clock.advance(10);
  const r = await report;
  assert.equal(server.state, "closed");
  assert.deepEqual([r.completed, r.aborted], [0, 0]);
  assert.deepEqual(adapter.calls, [], "never listened: nothing to close or cut");
});
