/**
 * The shutdown sequence of the README, in-process: a fake adapter, platform and clock, so
 * every step, deadline and exit code is checked in milliseconds on every runtime. What only a
 * real runtime can show (sockets, headers, signals to a process) is in tests/contract/.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Exchange } from "../../src/core/exchange.ts";
import { SignalHub } from "../../src/core/signals.ts";
import type { LifecycleEvent } from "../../src/core/types.ts";
import { FakeAdapter, FakeClock, fakePlatform, fakeServer, settle } from "./core_harness.ts";

const never = () => new Promise<Response>(() => {});

function opened(value: Exchange | Response): Exchange {
  assert.ok(value instanceof Exchange, "expected an exchange, got an answer from the core");
  return value;
}

test("step 1: shutdown starts draining, aborts server.signal and ctx.shutdown, fails readiness, and counts in-flight requests exactly", async () => {
  const { server, request, events, adapter } = await fakeServer({
    readiness: "/readyz",
    fetch: never,
  });
  const ready = request("/readyz").opened;
  assert.ok(ready instanceof Response && ready.status === 200);
  const a = opened(request().opened);
  const b = opened(request().opened);
  a.respond();
  b.respond();
  const shutdownSeen: boolean[] = [];
  a.ctx.shutdown.addEventListener("abort", () => shutdownSeen.push(server.state === "draining"));
  void server.shutdown({ reason: "test" });
  assert.equal(server.state, "draining");
  assert.equal(server.signal.aborted, true);
  assert.equal(a.ctx.shutdown, server.signal);
  assert.deepEqual(shutdownSeen, [true]);
  assert.equal(adapter.host!.draining, true);
  const draining = events.find((e) => e.type === "draining");
  assert.deepEqual(draining, {
    type: "draining",
    reason: "test",
    inFlight: 2,
    lameDuckMs: 0,
    drainTimeoutMs: 10_000,
    signals: ["SIGINT", "SIGTERM"],
  });
  const readiness = request("/readyz").opened;
  assert.ok(readiness instanceof Response);
  assert.equal(readiness.status, 503);
  const head = request("/readyz", "HEAD").opened;
  assert.ok(head instanceof Response && head.status === 503 && head.body === null);
});

test("step 2: the listener stays open for lameDuck ms, then closes", async () => {
  const { server, adapter, clock } = await fakeServer({ lameDuck: 500 });
  void server.shutdown();
  await clock.advance(499);
  assert.deepEqual(adapter.calls, ["listen"]);
  await clock.advance(1);
  assert.deepEqual(adapter.calls.slice(0, 2), ["listen", "close"]);
});

test("steps 3-6: the drain waits for every request, then hooks run last-registered first, then closed", async () => {
  const { server, request, clock, types } = await fakeServer({ fetch: never });
  const a = opened(request().opened);
  const b = opened(request().opened);
  const order: string[] = [];
  server.onShutdown(() => void order.push("first"), { name: "first" });
  server.onShutdown(() => void order.push("second"), { name: "second" });
  const report = server.shutdown();
  await clock.advance(5_000);
  assert.equal(server.state, "draining");
  assert.equal(server.inFlight, 2);
  a.end();
  await clock.advance(1);
  assert.deepEqual(order, []);
  b.end();
  await clock.advance(1);
  const r = await report;
  assert.deepEqual(order, ["second", "first"]);
  assert.equal(server.state, "closed");
  assert.equal(r.graceful, true);
  assert.equal(r.completed, 2);
  assert.equal(r.aborted, 0);
  assert.deepEqual(r.hooks.map((h) => [h.name, h.ok]), [["second", true], ["first", true]]);
  assert.deepEqual(types(), [
    "listening",
    "draining",
    "progress",
    "progress",
    "progress",
    "progress",
    "progress",
    "hook",
    "hook",
    "closed",
  ]);
  assert.equal(await server.finished, r);
});

test("progress events come once a second while requests are in flight", async () => {
  const { server, request, clock, events } = await fakeServer({ fetch: never });
  opened(request().opened);
  void server.shutdown();
  await clock.advance(3_500);
  const progress = events.filter((e) => e.type === "progress");
  assert.deepEqual(progress.map((e) => e.type === "progress" && e.elapsedMs), [1000, 2000, 3000]);
  assert.ok(progress.every((e) => e.type === "progress" && e.inFlight === 1));
});

test("step 4: at drainTimeout the drain is forced: ctx.signal aborts, a pending fetch is answered 503 before connections are cut", async () => {
  const { server, request, clock, adapter, events } = await fakeServer({
    fetch: never,
    drainTimeout: 1_000,
  });
  const a = opened(request().opened);
  const answered = a.respond() as Promise<Response>;
  const signal = a.ctx.signal;
  const report = server.shutdown();
  await clock.advance(999);
  assert.equal(signal.aborted, false);
  assert.equal(adapter.calls.includes("force"), false);
  await clock.advance(1);
  assert.equal(signal.aborted, true);
  const response = await answered;
  assert.equal(response.status, 503);
  // The adapter writes the answer, then ends the exchange; only then are connections cut.
  assert.equal(adapter.calls.includes("force"), false);
  a.end();
  await clock.advance(0);
  await clock.advance(1);
  assert.ok(adapter.calls.includes("force"));
  await clock.advance(100);
  const r = await report;
  assert.equal(r.graceful, false);
  assert.equal(r.aborted, 1);
  assert.equal(r.completed, 0);
  const forced = events.find((e) => e.type === "forced");
  assert.deepEqual(forced, { type: "forced", inFlight: 1, cause: "deadline", elapsedMs: 1000 });
});

test("a forced answer that never reaches the runtime does not hold the cut past the grace", async () => {
  const { server, request, clock, adapter } = await fakeServer({ fetch: never, drainTimeout: 10 });
  opened(request().opened).respond();
  const report = server.shutdown();
  await clock.advance(10);
  assert.equal(adapter.calls.includes("force"), false);
  await clock.advance(50);
  assert.ok(adapter.calls.includes("force"));
  await clock.advance(100);
  assert.equal((await report).aborted, 1);
});

test("the drain also waits for the adapter to close its connections, within the deadline", async () => {
  const adapter = new FakeAdapter({ closesAtOnce: false });
  const { server, clock } = await fakeServer({ drainTimeout: 1_000 }, { adapter });
  const report = server.shutdown();
  await clock.advance(500);
  assert.equal(server.state, "draining");
  adapter.finishClose();
  await clock.advance(1);
  assert.equal((await report).graceful, true);
});

test("close() forces at once: no lame-duck window, cause close()", async () => {
  const { server, request, clock, adapter, events } = await fakeServer({
    fetch: never,
    lameDuck: 10_000,
  });
  opened(request().opened).respond();
  const report = server.close();
  await clock.advance(200);
  const r = await report;
  assert.equal(r.graceful, false);
  assert.equal(r.reason, "close()");
  assert.ok(adapter.calls.includes("close") && adapter.calls.includes("force"));
  const forced = events.find((e): e is Extract<LifecycleEvent, { type: "forced" }> =>
    e.type === "forced"
  );
  assert.equal(forced?.cause, "close()");
});

test("shutdown() is idempotent and close() during a drain forces it", async () => {
  const { server, request, clock } = await fakeServer({ fetch: never, drainTimeout: 60_000 });
  opened(request().opened).respond();
  const first = server.shutdown();
  assert.equal(server.shutdown(), first);
  await clock.advance(10);
  assert.equal(server.close(), first);
  await clock.advance(200);
  assert.equal((await first).graceful, false);
});

test("hooks: a failing and a hanging hook are reported, bounded by their timeout, and the next one still runs", async () => {
  const { server, clock, events } = await fakeServer();
  const ran: string[] = [];
  server.onShutdown(() => void ran.push("last"), { name: "last" });
  server.onShutdown(() => new Promise(() => {}), { name: "hangs", timeout: 300 });
  server.onShutdown(() => {
    throw new Error("pool gone");
  }, { name: "fails" });
  const disposed = server.onShutdown(() => void ran.push("disposed"));
  disposed[Symbol.dispose]();
  const report = server.shutdown();
  await clock.advance(299);
  assert.deepEqual(ran, []);
  await clock.advance(1);
  const r = await report;
  assert.deepEqual(ran, ["last"]);
  assert.deepEqual(r.hooks.map((h) => [h.name, h.ok, h.error]), [
    ["fails", false, "Error: pool gone"],
    ["hangs", false, "Error: Timed out after 300 ms"],
    ["last", true, undefined],
  ]);
  assert.equal(r.hooks[1]!.durationMs, 300);
  assert.equal(events.filter((e) => e.type === "hook").length, 3);
});

test("exit codes: a signal exits 0 when graceful, 1 when a hook failed, 1 when forced by a second signal; exit: false never exits", async () => {
  for (
    const [name, setup, expected] of [
      ["graceful", () => {}, [0]],
      [
        "hook failed",
        (s: { onShutdown(h: () => unknown): unknown }) =>
          s.onShutdown(() => Promise.reject(new Error("x"))),
        [1],
      ],
    ] as const
  ) {
    const p = fakePlatform();
    const { server, clock } = await fakeServer({}, { platform: p });
    setup(server);
    p.send("SIGTERM");
    await clock.advance(10);
    await server.finished;
    await settle();
    assert.deepEqual(p.exits, expected, name);
  }
  const p = fakePlatform();
  const { server, request, clock } = await fakeServer({ fetch: never }, { platform: p });
  opened(request().opened).respond();
  p.send("SIGINT");
  await clock.advance(10);
  assert.deepEqual(p.exits, []);
  p.send("SIGTERM");
  await clock.advance(200);
  const r = await server.finished;
  await settle();
  assert.equal(r.graceful, false);
  assert.deepEqual(p.exits, [1]);
  assert.equal(p.listening("SIGTERM"), 0, "signal listeners are removed when the server closes");

  const quiet = fakePlatform();
  const off = await fakeServer({ exit: false }, { platform: quiet });
  quiet.send("SIGTERM");
  await off.clock.advance(10);
  await off.server.finished;
  await settle();
  assert.deepEqual(quiet.exits, []);
});

test("a shutdown started by shutdown(), not a signal, never exits the process", async () => {
  const p = fakePlatform();
  const { server, clock } = await fakeServer({}, { platform: p });
  void server.shutdown();
  await clock.advance(10);
  await server.finished;
  await settle();
  assert.deepEqual(p.exits, []);
});

test("two servers sharing the signals: one signal drains both; the process exits once both closed, with the worst code", async () => {
  const p = fakePlatform();
  const hub = new SignalHub(p.platform);
  const clock = new FakeClock();
  const a = await fakeServer({ fetch: never, drainTimeout: 1_000 }, { platform: p, hub, clock });
  const b = await fakeServer({}, { platform: p, hub, clock });
  opened(a.request().opened).respond();
  p.send("SIGTERM");
  assert.equal(a.server.state, "draining");
  assert.equal(b.server.state, "draining");
  await clock.advance(10);
  assert.equal(b.server.state, "closed");
  assert.deepEqual(p.exits, [], "waits for the other server");
  await clock.advance(1_200);
  await a.server.finished;
  await settle();
  assert.deepEqual(p.exits, [1]);
});

test("a server that never listened is a failed start: no draining, state closed, hooks run, exit 1", async () => {
  const p = fakePlatform();
  const error = Object.assign(new Error("listen EADDRINUSE: address already in use"), {
    code: "EADDRINUSE",
  });
  const { server, types, clock } = await fakeServer({ port: 8000, hostname: "0.0.0.0" }, {
    platform: p,
    adapter: new FakeAdapter({ listenError: error }),
  });
  await assert.rejects(server.ready, error);
  await clock.advance(10);
  const r = await server.finished;
  await settle();
  assert.equal(server.state, "closed");
  assert.equal(r.graceful, false);
  assert.match(r.reason, /listen failed/);
  assert.deepEqual(types(), ["failed"]);
  assert.deepEqual(p.exits, [1]);
});

test("maxInFlight: above it the core answers 503 with Retry-After: 1 without calling fetch", async () => {
  let calls = 0;
  const { request } = await fakeServer({
    maxInFlight: 1,
    fetch: () => {
      calls++;
      return never();
    },
  });
  opened(request().opened).respond();
  const over = request().opened;
  assert.ok(over instanceof Response);
  assert.equal(over.status, 503);
  assert.equal(over.headers.get("retry-after"), "1");
  assert.equal(calls, 1);
});

test("onError's Response is what the client gets; a broken onError falls back to the default 500", async () => {
  const { request } = await fakeServer({
    fetch: () => {
      throw new Error("boom");
    },
    onError: () => new Response("teapot", { status: 418 }),
  });
  const response = await opened(request().opened).respond();
  assert.equal(response.status, 418);
  assert.equal(await response.text(), "teapot");
  const broken = await fakeServer({
    fetch: () => Promise.reject(new Error("boom")),
    onError: () => "not a response" as unknown as Response,
  });
  const fallback = await opened(broken.request().opened).respond();
  assert.equal(fallback.status, 500);
  assert.ok(
    broken.events.some((e) =>
      e.type === "error" && String(e.error).includes("onError did not return")
    ),
  );
});

test("requests that start during the lame-duck window are counted in the report", async () => {
  const { server, request, clock } = await fakeServer({ lameDuck: 1_000, fetch: never });
  const a = opened(request().opened);
  void server.shutdown();
  await clock.advance(100);
  const b = opened(request().opened);
  a.end();
  b.end();
  await clock.advance(900);
  const r = await server.finished;
  assert.equal(r.completed, 2);
});
