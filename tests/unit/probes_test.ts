/**
 * The probes the core answers itself (readiness with checks, liveness, metrics), in-process on
 * a fake adapter and clock: what each answers in each state, that concurrent probes share one
 * run of the checks, and that a check never holds the drain.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Exchange } from "../../src/core/exchange.ts";
import { FakeAdapter, fakeServer, settle } from "./core_harness.ts";

type Opened = Exchange | Response;

/** The response a probe gets, whether the core answered at once or through an exchange. */
async function answer(opened: Opened): Promise<Response> {
  if (opened instanceof Response) return opened;
  const response = await opened.respond();
  opened.end();
  return response;
}

/** A tiny parser of the Prometheus text format: sample name with labels -> value. */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(match, `not a sample line: ${JSON.stringify(line)}`);
    samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

test("liveness answers 200 while serving and while draining, readiness 503 once draining; neither calls fetch", async () => {
  let fetched = 0;
  const { server, request, clock } = await fakeServer({
    fetch: () => (fetched++, new Response("app")),
    readiness: "/readyz",
    liveness: "/livez",
    lameDuck: 1_000,
  });
  assert.equal((await answer(request("/livez").opened)).status, 200);
  assert.equal((await answer(request("/readyz").opened)).status, 200);
  const head = await answer(request("/livez", "HEAD").opened);
  assert.equal(head.status, 200);
  assert.equal(head.body, null);
  void server.shutdown();
  await clock.advance(10); // inside the lame-duck window
  const live = await answer(request("/livez?x=1").opened);
  assert.equal(live.status, 200);
  assert.equal(await live.text(), "ok\n");
  assert.equal((await answer(request("/readyz").opened)).status, 503);
  assert.equal(fetched, 0);
  // Other methods reach the handler.
  const post = request("/livez", "POST").opened;
  assert.ok(post instanceof Exchange);
  post.end();
  await clock.advance(2_000);
  await server.finished;
});

test("readiness checks: 200 with every check passed, 503 naming the failing check and its error", async () => {
  let db: unknown = true;
  const { request } = await fakeServer({
    readiness: {
      path: "/readyz",
      checks: {
        db: () => {
          if (db instanceof Error) throw db;
          return db;
        },
        cache: () => Promise.resolve("fine"),
      },
    },
  });
  const ok = await answer(request("/readyz").opened);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("content-type"), "application/json");
  assert.deepEqual(await ok.json(), {
    status: "ok",
    checks: { db: { ok: true }, cache: { ok: true } },
  });
  db = new Error("connection refused");
  const failing = await answer(request("/readyz").opened);
  assert.equal(failing.status, 503);
  assert.deepEqual(await failing.json(), {
    status: "failing",
    checks: { db: { ok: false, error: "connection refused" }, cache: { ok: true } },
  });
  db = false;
  assert.deepEqual((await (await answer(request("/readyz").opened)).json()).checks.db, {
    ok: false,
    error: "returned false",
  });
});

test("readiness checks: a check past the timeout fails the probe; concurrent probes share one run; a hung check is joined, not called again", async () => {
  let calls = 0;
  let finish!: () => void;
  const { request, clock, server } = await fakeServer({
    readiness: {
      path: "/readyz",
      timeout: 100,
      checks: {
        slow: () => {
          calls++;
          return new Promise<void>((resolve) => finish = resolve);
        },
      },
    },
  });
  const probes = [request("/readyz").opened, request("/readyz").opened, request("/readyz").opened];
  assert.ok(probes.every((p) => p instanceof Exchange), "a probe that waits is an exchange");
  assert.equal(server.inFlight, 0, "a probe is not a request in flight");
  const answers = probes.map(answer);
  await clock.advance(100);
  const results = await Promise.all(answers);
  assert.deepEqual(results.map((r) => r.status), [503, 503, 503]);
  assert.deepEqual(await results[0]!.json(), {
    status: "failing",
    checks: { slow: { ok: false, error: "timed out after 100 ms" } },
  });
  assert.equal(calls, 1, "three concurrent probes ran the check once");
  // The check still hangs: the next probe joins it instead of calling it again.
  const again = answer(request("/readyz").opened);
  await clock.advance(100);
  assert.equal((await again).status, 503);
  assert.equal(calls, 1);
  finish();
  await settle();
  const fresh = answer(request("/readyz").opened);
  await settle();
  assert.equal(calls, 2, "once settled, a new probe calls the check again");
  finish();
  assert.equal((await fresh).status, 200);
});

test("readiness checks never delay the drain: a probe waiting on a check answers 503 when shutdown starts", async () => {
  let checks = 0;
  const { request, clock, server } = await fakeServer({
    readiness: {
      path: "/readyz",
      timeout: 5_000,
      checks: { hang: () => (checks++, new Promise(() => {})) },
    },
  });
  const waiting = answer(request("/readyz").opened);
  await settle();
  const report = server.shutdown();
  const probe = await waiting; // no clock advance: settled by the shutdown itself
  assert.equal(probe.status, 503);
  assert.equal((await probe.json()).status, "draining");
  const later = await answer(request("/readyz").opened);
  assert.equal(later.status, 503);
  assert.deepEqual(await later.json(), { status: "draining", checks: {} });
  assert.equal(checks, 1, "no check runs once draining");
  await clock.advance(10);
  const r = await report;
  assert.equal(r.graceful, true);
  assert.ok(r.durationMs < 50, `the drain took ${r.durationMs} ms`);
});

test("metrics: Prometheus text of the in-flight gauge, the state, the drain's counts and duration", async () => {
  const adapter = Object.assign(new FakeAdapter({ closesAtOnce: false }), { open: () => 0 });
  const { request, clock, server } = await fakeServer(
    { metrics: "/metrics", fetch: () => new Promise<Response>(() => {}), drainTimeout: 1_000 },
    { adapter },
  );
  const scrape = async () => {
    const response = await answer(request("/metrics").opened);
    assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const text = await response.text();
    for (const name of ["http_server_active_requests", "state", "drain_requests_total"]) {
      assert.match(text, new RegExp(`^# HELP lameduck_${name} .+$`, "m"));
      assert.match(text, new RegExp(`^# TYPE lameduck_${name} (gauge|counter)$`, "m"));
    }
    return parseMetrics(text);
  };
  const idle = await scrape();
  assert.equal(idle.get("lameduck_http_server_active_requests"), 0);
  assert.equal(idle.get('lameduck_state{state="serving"}'), 1);
  assert.equal(idle.get('lameduck_state{state="draining"}'), 0);
  assert.equal(idle.get("lameduck_drain_duration_seconds"), 0);
  const a = request("/a").opened as Exchange;
  void a.respond();
  request("/b").opened;
  assert.equal((await scrape()).get("lameduck_http_server_active_requests"), 2);
  void server.shutdown();
  await clock.advance(250);
  a.end();
  const draining = await scrape();
  assert.equal(draining.get('lameduck_state{state="draining"}'), 1);
  assert.equal(draining.get('lameduck_state{state="serving"}'), 0);
  assert.equal(draining.get('lameduck_drain_requests_total{outcome="completed"}'), 1);
  assert.equal(draining.get('lameduck_drain_requests_total{outcome="aborted"}'), 0);
  assert.equal(draining.get("lameduck_drain_duration_seconds"), 0.25);
  assert.equal(draining.get("lameduck_http_server_active_requests"), 1);
  await clock.advance(2_000);
  const report = await server.finished;
  const closed = await scrape();
  assert.equal(closed.get('lameduck_state{state="closed"}'), 1);
  assert.equal(closed.get('lameduck_drain_requests_total{outcome="aborted"}'), report.aborted);
  assert.equal(closed.get("lameduck_drain_duration_seconds"), report.durationMs / 1000);
});

test("two probes cannot share a path; a probe path must start with /", async () => {
  const { resolveOptions } = await import("../../src/core/options.ts");
  const f = () => new Response();
  assert.throws(
    () => resolveOptions({ fetch: f, readiness: "/z", liveness: "/z" }),
    { name: "RangeError", message: 'Invalid liveness: "/z" is already the readiness path' },
  );
  assert.throws(
    () => resolveOptions({ fetch: f, liveness: "/m", metrics: "/m" }),
    { name: "RangeError", message: 'Invalid metrics: "/m" is already the liveness path' },
  );
  assert.throws(() => resolveOptions({ fetch: f, metrics: "metrics" }), {
    name: "RangeError",
    message: 'Invalid metrics: expected false or a path starting with "/", got "metrics"',
  });
  assert.throws(() => resolveOptions({ fetch: f, readiness: { checks: {} } }), {
    name: "TypeError",
    message: 'Invalid readiness.path: expected a path starting with "/", got undefined',
  });
  assert.throws(() => resolveOptions({ fetch: f, readiness: { path: "/r", checks: { db: 1 } } }), {
    name: "TypeError",
    message: "Invalid readiness.checks.db: expected a function, got 1",
  });
  assert.throws(() => resolveOptions({ fetch: f, readiness: { path: "/r", timeout: -1 } }), {
    name: "RangeError",
    message:
      "Invalid readiness.timeout: expected a number of milliseconds from 0 to 2147483647, got -1",
  });
});

test("a graceful drain counts the adapter's upgraded connections that closed as completed", async () => {
  let open = 1;
  const adapter = Object.assign(new FakeAdapter({ closesAtOnce: false }), {
    inFlight: (requests: number) => requests + open,
  });
  const { server, clock } = await fakeServer({}, { adapter });
  const report = server.shutdown();
  await clock.advance(10);
  open = 0; // the WebSocket closed after its 1001
  adapter.finishClose();
  await clock.advance(10);
  const r = await report;
  assert.equal(r.graceful, true);
  assert.deepEqual([r.completed, r.aborted], [1, 0]);
});
