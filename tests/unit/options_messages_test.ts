/**
 * The exact error of every kind of bad option (mutation testing, `npm run mutate`, showed that
 * only their presence was tested): the class, the option's name, what was expected and how the
 * value reads.
 *
 * @module
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveHook, resolveOptions, resolveShutdown } from "../../src/core/options.ts";

const f = () => new Response("x");

/** An Express or Connect app's shape: a function with `handle`, `use` and `listen` methods. */
const expressLike = Object.assign((_req: unknown, _res: unknown) => {}, {
  handle() {},
  use() {},
  listen() {},
});
const listener = (_req: unknown, _res: unknown) => {};

const CASES: [string, () => unknown, "TypeError" | "RangeError", string][] = [
  [
    "an Express app as fetch",
    () => resolveOptions({ fetch: expressLike }),
    "TypeError",
    "Invalid fetch: expected a function (request, ctx) => Response, got an Express or Connect " +
    "app (a Node request listener): pass it as listener",
  ],
  [
    "Koa's callback() as fetch",
    () => resolveOptions({ fetch: function handleRequest(_req: unknown, _res: unknown) {} }),
    "TypeError",
    "Invalid fetch: expected a function (request, ctx) => Response, got a Node request " +
    "listener (Koa's app.callback()): pass it as listener",
  ],
  [
    "a Fastify instance as listener",
    () => resolveOptions({ listener: { routing() {}, ready() {} } }),
    "TypeError",
    "Invalid listener: expected a Node request listener (req, res) => void, got a Fastify " +
    "instance: pass listener: app.routing after await app.ready()",
  ],
  [
    "a Koa app as fetch",
    () => resolveOptions({ fetch: { callback() {}, use() {} } }),
    "TypeError",
    "Invalid fetch: expected a function (request, ctx) => Response, got a Koa app: pass " +
    "listener: app.callback()",
  ],
  [
    "listener not a function",
    () => resolveOptions({ listener: 1 }),
    "TypeError",
    "Invalid listener: expected a Node request listener (req, res) => void, got 1",
  ],
  [
    "both fetch and listener",
    () => resolveOptions({ fetch: f, listener }),
    "TypeError",
    "Invalid listener: expected undefined when fetch is set (exactly one of fetch and " +
    "listener), got a function",
  ],
  [
    "options null",
    () => resolveOptions(null),
    "TypeError",
    "Invalid options: expected an object with a fetch function, got null",
  ],
  [
    "options array",
    () => resolveOptions([]),
    "TypeError",
    "Invalid options: expected an object with a fetch function, got an array",
  ],
  [
    "options string",
    () => resolveOptions("x"),
    "TypeError",
    'Invalid options: expected an object with a fetch function, got "x"',
  ],
  [
    "unknown key",
    () => resolveOptions({ fetch: f, nope: 1 }),
    "TypeError",
    'Invalid option "nope": not an option of serve()',
  ],
  [
    "fetch missing",
    () => resolveOptions({}),
    "TypeError",
    "Invalid fetch: expected a function (request, ctx) => Response, got undefined",
  ],
  [
    "port string",
    () => resolveOptions({ fetch: f, port: "80" }),
    "TypeError",
    'Invalid port: expected an integer from 0 to 65535, got "80"',
  ],
  [
    "port bigint",
    () => resolveOptions({ fetch: f, port: 80n }),
    "TypeError",
    "Invalid port: expected an integer from 0 to 65535, got 80n",
  ],
  [
    "port function",
    () => resolveOptions({ fetch: f, port: f }),
    "TypeError",
    "Invalid port: expected an integer from 0 to 65535, got a function",
  ],
  [
    "port array",
    () => resolveOptions({ fetch: f, port: [] }),
    "TypeError",
    "Invalid port: expected an integer from 0 to 65535, got an array",
  ],
  [
    "port object",
    () => resolveOptions({ fetch: f, port: {} }),
    "TypeError",
    "Invalid port: expected an integer from 0 to 65535, got an object",
  ],
  [
    "port null",
    () => resolveOptions({ fetch: f, port: null }),
    "TypeError",
    "Invalid port: expected an integer from 0 to 65535, got null",
  ],
  [
    "drainTimeout -1",
    () => resolveOptions({ fetch: f, drainTimeout: -1 }),
    "RangeError",
    "Invalid drainTimeout: expected a number of milliseconds from 0 to 2147483647, got -1",
  ],
  [
    "websocket 5",
    () => resolveOptions({ fetch: f, websocket: 5 }),
    "TypeError",
    "Invalid websocket: expected Bun's WebSocket handler object or a function (server) => void, got 5",
  ],
  [
    "websocket null",
    () => resolveOptions({ fetch: f, websocket: null }),
    "TypeError",
    "Invalid websocket: expected Bun's WebSocket handler object or a function (server) => void, got null",
  ],
  [
    "onError 1",
    () => resolveOptions({ fetch: f, onError: 1 }),
    "TypeError",
    "Invalid onError: expected a function, got 1",
  ],
  [
    "hostname a b",
    () => resolveOptions({ fetch: f, hostname: "a b" }),
    "RangeError",
    'Invalid hostname: expected a host name or address, got "a b"',
  ],
  [
    "signals str",
    () => resolveOptions({ fetch: f, signals: "SIGTERM" }),
    "TypeError",
    'Invalid signals: expected false or an array of SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, got "SIGTERM"',
  ],
  [
    "signals [1]",
    () => resolveOptions({ fetch: f, signals: [1] }),
    "TypeError",
    "Invalid signals: expected false or an array of SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, got 1",
  ],
  [
    "signals [SIGFOO]",
    () => resolveOptions({ fetch: f, signals: ["SIGFOO"] }),
    "RangeError",
    'Invalid signals: expected false or an array of SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, got "SIGFOO"',
  ],
  [
    "readiness x",
    () => resolveOptions({ fetch: f, readiness: "x" }),
    "RangeError",
    'Invalid readiness: expected false or a path starting with "/", got "x"',
  ],
  [
    "readiness /a?b",
    () => resolveOptions({ fetch: f, readiness: "/a?b" }),
    "RangeError",
    'Invalid readiness: expected false or a path starting with "/", got "/a?b"',
  ],
  [
    "readiness /a b",
    () => resolveOptions({ fetch: f, readiness: "/a b" }),
    "RangeError",
    'Invalid readiness: expected false or a path starting with "/", got "/a b"',
  ],
  [
    "readiness 5",
    () => resolveOptions({ fetch: f, readiness: 5 }),
    "TypeError",
    'Invalid readiness: expected false or a path starting with "/", got 5',
  ],
  [
    "maxInFlight x",
    () => resolveOptions({ fetch: f, maxInFlight: "x" }),
    "TypeError",
    'Invalid maxInFlight: expected a positive integer or Infinity, got "x"',
  ],
  [
    "maxInFlight 0",
    () => resolveOptions({ fetch: f, maxInFlight: 0 }),
    "RangeError",
    "Invalid maxInFlight: expected a positive integer or Infinity, got 0",
  ],
  [
    "logger 5",
    () => resolveOptions({ fetch: f, logger: 5 }),
    "TypeError",
    'Invalid logger: expected false, "json" or a function, got 5',
  ],
  [
    "exit yes",
    () => resolveOptions({ fetch: f, exit: "yes" }),
    "TypeError",
    'Invalid exit: expected a boolean, got "yes"',
  ],
  [
    "hook 5",
    () => resolveHook(5 as never, undefined, 1),
    "TypeError",
    "Invalid hook: expected a function, got 5",
  ],
  [
    "hook opts null",
    () => resolveHook(f, null as never, 1),
    "TypeError",
    "Invalid hook options: expected an object, got null",
  ],
  [
    "hook opts 5",
    () => resolveHook(f, 5 as never, 1),
    "TypeError",
    "Invalid hook options: expected an object, got 5",
  ],
  [
    "hook name 5",
    () => resolveHook(f, { name: 5 } as never, 1),
    "TypeError",
    "Invalid name: expected a string, got 5",
  ],
  [
    "shutdown null",
    () => resolveShutdown(null as never, 10_000),
    "TypeError",
    "Invalid shutdown options: expected an object, got null",
  ],
  [
    "shutdown 5",
    () => resolveShutdown(5 as never, 10_000),
    "TypeError",
    "Invalid shutdown options: expected an object, got 5",
  ],
  [
    "reason 5",
    () => resolveShutdown({ reason: 5 } as never, 10_000),
    "TypeError",
    "Invalid reason: expected a string, got 5",
  ],
  [
    "drain -1",
    () => resolveShutdown({ drainTimeout: -1 } as never, 10_000),
    "RangeError",
    "Invalid drainTimeout: expected a number of milliseconds from 0 to 2147483647, got -1",
  ],
  [
    "hostname not a string",
    () => resolveOptions({ fetch: f, hostname: 5 }),
    "TypeError",
    "Invalid hostname: expected a non-empty string, got 5",
  ],
  [
    "tls a string",
    () => resolveOptions({ fetch: f, tls: "cert.pem" }),
    "TypeError",
    'Invalid tls: expected an object { cert, key } of PEM strings, got "cert.pem"',
  ],
  [
    "tls.key not a string",
    () => resolveOptions({ fetch: f, tls: { cert: "C", key: 5 } }),
    "TypeError",
    "Invalid tls.key: expected a PEM string, got 5",
  ],
  [
    "tls.cert empty",
    () => resolveOptions({ fetch: f, tls: { cert: "", key: "K" } }),
    "RangeError",
    'Invalid tls.cert: expected a PEM string, got ""',
  ],
  [
    "overrideGlobals not a boolean",
    () => resolveOptions({ fetch: f, overrideGlobals: "yes" }),
    "TypeError",
    'Invalid overrideGlobals: expected a boolean, got "yes"',
  ],
];

for (const [label, call, type, message] of CASES) {
  test(`bad options: ${label} throws ${type}: ${message}`, () => {
    assert.throws(call, (error: unknown) => {
      assert.equal((error as Error).constructor.name, type);
      assert.equal((error as Error).message, message);
      return true;
    });
  });
}

test("good options: every signal name, duplicates dropped, readiness false, maxInFlight Infinity", () => {
  const all = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;
  assert.deepEqual(resolveOptions({ fetch: f, signals: all }).signals, all);
  const o = resolveOptions({
    fetch: f,
    signals: ["SIGTERM", "SIGTERM", "SIGINT"],
    readiness: false,
    maxInFlight: Infinity,
    hostname: "::1",
    exit: false,
    onError: f,
    websocket: {},
  });
  assert.deepEqual(o.signals, ["SIGTERM", "SIGINT"]);
  assert.equal(o.readiness, false);
  assert.equal(o.maxInFlight, Infinity);
  assert.equal(o.hostname, "::1");
  assert.equal(o.exit, false);
  assert.deepEqual(resolveOptions({ fetch: f, readiness: "/readyz" }).readiness, {
    path: "/readyz",
    json: false,
    checks: [],
    timeout: 500,
  });
  assert.equal(resolveShutdown({ reason: "deploy" }, 10_000).reason, "deploy");
});

test("good options: overrideGlobals stays unset unless given (each adapter has its default); websocket may be a function", () => {
  assert.equal(resolveOptions({ fetch: f }).overrideGlobals, undefined);
  assert.equal(resolveOptions({ fetch: f, overrideGlobals: false }).overrideGlobals, false);
  assert.equal(resolveOptions({ fetch: f, overrideGlobals: true }).overrideGlobals, true);
  const attach = () => {};
  assert.equal(resolveOptions({ fetch: f, websocket: attach }).websocket, attach);
});
