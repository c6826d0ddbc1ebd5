import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveOptions, resolveShutdown } from "../../src/core/options.ts";

const fetch = () => new Response("ok");

test("resolveOptions() fills in the documented defaults", () => {
  const o = resolveOptions({ fetch });
  assert.equal(o.port, 8000);
  assert.equal(o.hostname, "0.0.0.0");
  assert.deepEqual(o.signals, ["SIGINT", "SIGTERM"]);
  assert.equal(o.lameDuck, 0);
  assert.equal(o.drainTimeout, 10_000);
  assert.equal(o.readiness, false);
  assert.equal(o.maxInFlight, Infinity);
  assert.equal(o.exit, true);
  assert.equal(o.logger, undefined);
});

test("resolveOptions() accepts the edge values", () => {
  const o = resolveOptions({ fetch, port: 0, signals: false, maxInFlight: 1, lameDuck: 0 });
  assert.equal(o.port, 0);
  assert.deepEqual(o.signals, []);
  assert.equal(resolveOptions({ fetch, port: 65535 }).port, 65535);
});

const invalid: [string, Record<string, unknown>, typeof TypeError | typeof RangeError][] = [
  ["fetch", {}, TypeError],
  ["fetch", { fetch: "x" }, TypeError],
  ["port", { fetch, port: -1 }, RangeError],
  ["port", { fetch, port: 70000 }, RangeError],
  ["port", { fetch, port: 1.5 }, RangeError],
  ["port", { fetch, port: "80" }, TypeError],
  ["hostname", { fetch, hostname: 5 }, TypeError],
  ["hostname", { fetch, hostname: "" }, RangeError],
  ["signals", { fetch, signals: ["SIGFOO"] }, RangeError],
  ["signals", { fetch, signals: "SIGTERM" }, TypeError],
  ["signals", { fetch, signals: true }, TypeError],
  ["lameDuck", { fetch, lameDuck: Infinity }, RangeError],
  ["lameDuck", { fetch, lameDuck: "1s" }, TypeError],
  ["drainTimeout", { fetch, drainTimeout: -1 }, RangeError],
  ["drainTimeout", { fetch, drainTimeout: NaN }, RangeError],
  // Regression: setTimeout fires a delay of 2^31 ms or more after 1 ms (it forced at once).
  ["drainTimeout", { fetch, drainTimeout: 2 ** 31 }, RangeError],
  ["lameDuck", { fetch, lameDuck: 2 ** 31 }, RangeError],
  ["websocket", { fetch, websocket: "handlers" }, TypeError],
  ["websocket", { fetch, websocket: null }, TypeError],
  ["readiness", { fetch, readiness: "readyz" }, RangeError],
  ["readiness", { fetch, readiness: true }, TypeError],
  ["maxInFlight", { fetch, maxInFlight: 0 }, RangeError],
  ["maxInFlight", { fetch, maxInFlight: 2.5 }, RangeError],
  ["exit", { fetch, exit: "yes" }, TypeError],
  ["onListen", { fetch, onListen: 1 }, TypeError],
  ["onError", { fetch, onError: 1 }, TypeError],
  ["logger", { fetch, logger: 5 }, TypeError],
  ["logger", { fetch, logger: true }, TypeError],
  ["drainTimout", { fetch, drainTimout: 5 }, TypeError],
  ["tls", { fetch, tls: "cert.pem" }, TypeError],
  ["tls", { fetch, tls: null }, TypeError],
  ["tls.cert", { fetch, tls: { key: "k" } }, TypeError],
  ["tls.key", { fetch, tls: { cert: "c", key: 5 } }, TypeError],
  ["tls.cert", { fetch, tls: { cert: "", key: "k" } }, RangeError],
];

test("resolveOptions() keeps tls's PEM strings as given", () => {
  assert.deepEqual(resolveOptions({ fetch, tls: { cert: "C", key: "K" } }).tls, {
    cert: "C",
    key: "K",
  });
  assert.equal(resolveOptions({ fetch }).tls, undefined);
});

for (const [name, options, type] of invalid) {
  test(`resolveOptions() throws ${type.name} naming ${name} for ${JSON.stringify(options)}`, () => {
    assert.throws(() => resolveOptions(options), (error: unknown) => {
      assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
      assert.match((error as Error).message, new RegExp(`\\b${name}\\b`));
      assert.match((error as Error).message, /^Invalid /);
      return true;
    });
  });
}

test("resolveOptions() rejects a non-object", () => {
  assert.throws(() => resolveOptions(null), TypeError);
  assert.throws(() => resolveOptions(fetch), TypeError);
});

test("resolveShutdown() validates drainTimeout and reason", () => {
  assert.deepEqual(resolveShutdown(undefined, 5), { drainTimeout: 5, reason: "shutdown()" });
  assert.deepEqual(resolveShutdown({ drainTimeout: 1, reason: "deploy" }, 5), {
    drainTimeout: 1,
    reason: "deploy",
  });
  assert.throws(() => resolveShutdown({ drainTimeout: -5 }, 5), RangeError);
  assert.throws(() => resolveShutdown({ reason: 5 as unknown as string }, 5), TypeError);
});

test("resolveOptions() accepts the longest timer every runtime keeps: 2^31 - 1 ms", () => {
  const o = resolveOptions({ fetch, lameDuck: 2 ** 31 - 1, drainTimeout: 2 ** 31 - 1 });
  assert.equal(o.drainTimeout, 2 ** 31 - 1);
  assert.equal(o.lameDuck, 2 ** 31 - 1);
});
