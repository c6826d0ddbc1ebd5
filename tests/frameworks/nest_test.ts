/**
 * The framework cases (cases.ts) for nest: NestJS's Express instance as `listener`, after `await app.init()`, on Node.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { RawConnection } from "../contract/client_raw_http.ts";
import { is } from "../contract/fixture_events.ts";
import { within } from "../shared/time.ts";
import { frameworkCases, launch } from "./cases.ts";

frameworkCases("nest", ["node"]);

// Nest's enableShutdownHooks() closes the app at SIGTERM and then raises the signal again
// (process.kill(process.pid, signal), @nestjs/core 12.6.3 nest-application-context.js):
// docs/frameworks.md says to run app.close() from onShutdown instead.
test("known framework interaction (NestJS): with app.enableShutdownHooks() Nest raises SIGTERM again, which lameduck takes as the second signal: the request in flight is cut, exit 1", async () => {
  const fx = await launch("node", {
    framework: "nest",
    nestShutdownHooks: true,
    lameDuck: 800,
    drainTimeout: 5_000,
  });
  try {
    const conn = await RawConnection.connect(fx.port);
    conn.send("GET", "/slow?ms=1500");
    await fx.waitFor(is("entered", "/slow"), 10_000, "/slow to be entered");
    fx.signal("SIGTERM");
    const res = await conn.read({ timeoutMs: 10_000 }).then(() => "answered", String);
    const exit = await within(fx.exited, 10_000, `the exit\n${fx.describe()}`);
    assert.match(res, /closed .* before the response was complete/);
    assert.equal(exit.code, 1, fx.describe());
    assert.ok(
      fx.events.some((e) => e.event === "log" && e.type === "forced" && e.cause === "SIGTERM"),
      fx.describe(),
    );
  } finally {
    fx.kill();
  }
});
