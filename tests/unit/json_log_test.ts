/**
 * The `"json"` logger's records (pino's fields), the `toJSON` of the events a function logger
 * receives, and the OpenTelemetry instruments, against a recording stand-in for the
 * `@opentelemetry/api` 1.x `metrics` API.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { jsonRecord, logJson } from "../../src/core/json_log.ts";
import { type OtelApi, recordOnOtel } from "../../src/core/otel.ts";
import type { LifecycleEvent, ShutdownReport } from "../../src/core/types.ts";
import { fakeServer } from "./core_harness.ts";

const report: ShutdownReport = {
  reason: "SIGTERM",
  graceful: true,
  durationMs: 12,
  completed: 1,
  aborted: 0,
  hooks: [],
};

test('logger "json": one JSON line per event with pino\'s level, time and msg; err and req as data', () => {
  const lines: string[] = [];
  const error = new TypeError("bad input");
  const request = new Request("http://a.test/orders/7?token=secret", { method: "POST" });
  const events: LifecycleEvent[] = [
    {
      type: "draining",
      reason: "SIGTERM",
      inFlight: 1,
      lameDuckMs: 0,
      drainTimeoutMs: 10,
      signals: [],
    },
    { type: "error", error, request },
    { type: "forced", inFlight: 1, cause: "deadline", elapsedMs: 10 },
    { type: "closed", report, exitCode: 0 },
  ];
  for (const event of events) logJson(event, (line) => lines.push(line), () => 1_700_000_000_000);
  const records = lines.map((line) => JSON.parse(line));
  assert.deepEqual(records.map((r) => [r.level, r.time, r.type]), [
    [30, 1_700_000_000_000, "draining"],
    [50, 1_700_000_000_000, "error"],
    [40, 1_700_000_000_000, "forced"],
    [30, 1_700_000_000_000, "closed"],
  ]);
  assert.equal(records[0].msg, "SIGTERM: draining 1 request, at most 0.0 s");
  assert.equal(records[1].msg, "POST /orders/7: fetch failed: TypeError: bad input");
  assert.deepEqual(records[1].req, { method: "POST", path: "/orders/7" });
  assert.equal(records[1].err.name, "TypeError");
  assert.equal(records[1].err.message, "bad input");
  assert.match(records[1].err.stack, /TypeError: bad input/);
  assert.ok(!lines[1]!.includes("secret"), "no query string in the record");
  assert.equal(records[3].exitCode, 0);
  assert.deepEqual(records[3].report, report);
});

test("the events a function logger receives stringify with the error's message and the request; hook and handler errors agree", async () => {
  const seen: string[] = [];
  const failing = new Error("hook broke");
  const { server, request, clock } = await fakeServer({
    fetch: () => {
      throw new RangeError("handler broke");
    },
    logger: (event) => void seen.push(JSON.stringify(event)),
  });
  server.onShutdown(() => {
    throw failing;
  }, { name: "db" });
  const { opened } = request("/x?y=1");
  const exchange = opened as { respond(): Promise<Response>; end(): void };
  await exchange.respond();
  exchange.end();
  void server.shutdown();
  await clock.advance(10);
  await server.finished;
  const events = seen.map((line) => JSON.parse(line));
  const handler = events.find((e) => e.type === "error");
  assert.deepEqual(handler.request, { method: "GET", url: "http://127.0.0.1:1/x?y=1" });
  assert.equal(handler.error.name, "RangeError");
  assert.equal(handler.error.message, "handler broke");
  assert.match(handler.error.stack, /handler broke/);
  const hook = events.find((e) => e.type === "hook");
  assert.equal(hook.hook.error, "Error: hook broke");
  assert.deepEqual(Object.keys(hook.error), Object.keys(handler.error), "one shape for both");
  assert.equal(hook.error.message, "hook broke");
});

test("a thrown non-Error, a cause and a code are kept as data", () => {
  const cause = new Error("socket hang up");
  const error = Object.assign(new Error("query failed", { cause }), { code: "ECONNRESET" });
  const record = jsonRecord({ type: "failed", error, address: "0.0.0.0:1" }, 0);
  assert.equal((record.err as Record<string, unknown>).code, "ECONNRESET");
  assert.equal(((record.err as Record<string, unknown>).cause as Error).message, "socket hang up");
  assert.deepEqual(jsonRecord({ type: "error", error: "plain" }, 0).err, { message: "plain" });
});

test("OpenTelemetry: the same instruments, observed at collection and recorded at close", async () => {
  const created: string[] = [];
  const callbacks: ((r: { observe(v: number, a?: Record<string, string>): void }) => void)[] = [];
  const recorded: [string, number, Record<string, string> | undefined][] = [];
  const api: OtelApi = {
    metrics: {
      getMeter: (name) => {
        created.push(`meter ${name}`);
        const observable = (kind: string) => (n: string) => {
          created.push(`${kind} ${n}`);
          return { addCallback: (cb: (typeof callbacks)[number]) => void callbacks.push(cb) };
        };
        return {
          createObservableUpDownCounter: observable("updown"),
          createObservableGauge: observable("gauge"),
          createCounter: (
            n,
          ) => (created.push(`counter ${n}`), { add: (v, a) => void recorded.push([n, v, a]) }),
          createHistogram: (
            n,
          ) => (created.push(`histogram ${n}`),
            { record: (v, a) => void recorded.push([n, v, a]) }),
        };
      },
    },
  };
  let resolveFinished!: (r: ShutdownReport) => void;
  const source = {
    state: "serving" as const,
    inFlight: 3,
    signal: new AbortController().signal,
    finished: new Promise<ShutdownReport>((resolve) => resolveFinished = resolve),
  };
  recordOnOtel(api, source);
  assert.deepEqual(created, [
    "meter lameduck",
    "updown http.server.active_requests",
    "gauge lameduck.state",
    "counter lameduck.drain.requests",
    "histogram lameduck.drain.duration",
  ]);
  const observed: [number, Record<string, string> | undefined][] = [];
  for (const cb of callbacks) cb({ observe: (v, a) => void observed.push([v, a]) });
  assert.deepEqual(observed, [
    [3, undefined],
    [1, { state: "serving" }],
    [0, { state: "draining" }],
    [0, { state: "closed" }],
  ]);
  resolveFinished({ ...report, completed: 4, aborted: 2, durationMs: 1500 });
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(recorded, [
    ["lameduck.drain.requests", 4, { outcome: "completed" }],
    ["lameduck.drain.requests", 2, { outcome: "aborted" }],
    ["lameduck.drain.duration", 1.5, undefined],
  ]);
});

test("under lameduck run the built-in loggers name the worker: worker: { id, pid } and lameduck[worker N, pid P]:", async () => {
  const { emitTo, setWorkerIdentity } = await import("../../src/core/emit.ts");
  const lines: string[] = [];
  const error = console.error;
  console.error = (line: string) => void lines.push(line);
  try {
    setWorkerIdentity({ id: 2, pid: 4242 });
    const event = { type: "warning", message: "hi" } as const;
    emitTo(undefined, event);
    emitTo("json", event);
    setWorkerIdentity(undefined);
    emitTo(undefined, event);
  } finally {
    console.error = error;
    setWorkerIdentity(undefined);
  }
  assert.equal(lines[0], "lameduck[worker 2, pid 4242]: hi");
  const record = JSON.parse(lines[1]!);
  assert.deepEqual([record.level, record.msg, record.worker], [40, "hi", { id: 2, pid: 4242 }]);
  assert.equal(lines[2], "lameduck: hi");
});
