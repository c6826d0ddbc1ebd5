/**
 * The framework cases (cases.ts) for fastify: Fastify's `app.routing` as `listener`, after `await app.ready()`, on Node.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { rawRequest } from "../contract/client_raw_http.ts";
import { within } from "../shared/time.ts";
import { frameworkCases, launch } from "./cases.ts";

frameworkCases("fastify", ["node"]);

// Once app.close() has started, Fastify's router answers every request 503 itself
// (return503OnClosing, on by default; fastify 5.12.8 lib/route.js): docs/frameworks.md says to
// call it from onShutdown, after the drain.
test("known framework interaction (Fastify): app.close() at SIGTERM makes app.routing answer 503 in the lame-duck window", async () => {
  const fx = await launch("node", {
    framework: "fastify",
    fastifyCloseAtSignal: true,
    lameDuck: 1_000,
  });
  try {
    fx.signal("SIGTERM");
    await fx.waitFor((e) => e.event === "log" && e.type === "draining", 5_000, "draining");
    const { conn, res } = await rawRequest(fx.port, "GET", "/fast");
    conn.destroy();
    assert.equal(res.status, 503, res.body);
    assert.match(res.body, /Service Unavailable/);
    const exit = await within(fx.exited, 10_000, `the exit\n${fx.describe()}`);
    assert.equal(exit.code, 0, fx.describe());
  } finally {
    fx.kill();
  }
});
