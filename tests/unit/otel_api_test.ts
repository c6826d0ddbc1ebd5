/**
 * `metrics` with the real `@opentelemetry/api` (pinned in devDependencies): serve() loads it,
 * and the instruments reach the meter provider the app registered through the API's own global
 * registry. The provider is a small recording one (the SDK is not a dependency).
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { metrics } from "@opentelemetry/api";
import { serve } from "../../mod.ts";
import { within } from "../shared/time.ts";

test("with metrics set, serve() records its instruments on the app's OpenTelemetry meter provider", async () => {
  const created: string[] = [];
  const observers: ((result: { observe(value: number): void }) => void)[] = [];
  const added: [string, number, unknown][] = [];
  let seen!: () => void;
  const registered = new Promise<void>((resolve) => seen = resolve);
  const observable = (name: string) => {
    created.push(name);
    return {
      addCallback(callback: (typeof observers)[number]) {
        observers.push(callback);
        seen();
      },
      removeCallback() {},
    };
  };
  const meter = {
    createObservableUpDownCounter: observable,
    createObservableGauge: observable,
    createCounter: (
      name: string,
    ) => (created.push(name),
      { add: (value: number, attributes?: unknown) => void added.push([name, value, attributes]) }),
    createHistogram: (
      name: string,
    ) => (created.push(name), {
      record: (value: number, attributes?: unknown) => void added.push([name, value, attributes]),
    }),
  };
  const provider = { getMeter: (name: string) => (created.push(`meter ${name}`), meter) };
  assert.ok(metrics.setGlobalMeterProvider(provider as never), "registered");
  const server = serve({
    fetch: () => new Response("x"),
    port: 0,
    hostname: "127.0.0.1",
    signals: false,
    logger: false,
    metrics: "/metrics",
  });
  try {
    await server.ready;
    await within(registered, 5_000, "the instruments on the registered provider");
    assert.ok(created.includes("meter lameduck"), created.join(", "));
    assert.ok(created.includes("http.server.active_requests"), created.join(", "));
    const values: number[] = [];
    observers[0]!({ observe: (value) => void values.push(value) });
    assert.deepEqual(values, [0], "nothing in flight");
    await server.shutdown({ reason: "test" });
    assert.ok(added.some(([name]) => name === "lameduck.drain.duration"), JSON.stringify(added));
  } finally {
    await server.close();
    metrics.disable();
  }
});
