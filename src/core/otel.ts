/**
 * The server's figures on OpenTelemetry, when the app has `@opentelemetry/api` (an optional
 * peer dependency, loaded with a dynamic `import()` only when `metrics` is set; absent, nothing
 * is loaded or recorded). Instruments on the global meter provider (a no-op until the app
 * registers one):
 *
 * - `http.server.active_requests` (observable up-down counter, `{request}`): in flight;
 * - `lameduck.state` (observable gauge, attribute `state`): 1 for the current state;
 * - `lameduck.drain.requests` (counter, `{request}`, attribute `outcome`): added once at close;
 * - `lameduck.drain.duration` (histogram, `s`): recorded once at close.
 *
 * The observable ones are read at each collection: nothing is counted per request.
 *
 * @module
 */

import { type MetricsSource, STATES } from "./metrics.ts";

/** The part of `@opentelemetry/api`'s `metrics` API used here (its documented 1.x API). */
export interface OtelApi {
  metrics: {
    getMeter(name: string, version?: string): OtelMeter;
  };
}

interface Observer {
  observe(value: number, attributes?: Record<string, string>): void;
}

interface OtelMeter {
  createObservableUpDownCounter(
    name: string,
    options?: { description?: string; unit?: string },
  ): { addCallback(callback: (result: Observer) => void): void };
  createObservableGauge(
    name: string,
    options?: { description?: string; unit?: string },
  ): { addCallback(callback: (result: Observer) => void): void };
  createCounter(
    name: string,
    options?: { description?: string; unit?: string },
  ): { add(value: number, attributes?: Record<string, string>): void };
  createHistogram(
    name: string,
    options?: { description?: string; unit?: string },
  ): { record(value: number, attributes?: Record<string, string>): void };
}

/** The peer dependency's name, in a variable so that bundlers and type checkers leave it. */
const OTEL_API = "@opentelemetry/api";

/** Loads `@opentelemetry/api`; `undefined` when the app does not have it. */
export async function loadOtel(): Promise<OtelApi | undefined> {
  try {
    return await import(OTEL_API) as OtelApi;
  } catch {
    return undefined; // Absent (or not resolvable from here): nothing to record.
  }
}

/** Creates the instruments on `api`'s meter and records `source` on them. */
export function recordOnOtel(api: OtelApi, source: MetricsSource): void {
  const meter = api.metrics.getMeter("lameduck");
  meter.createObservableUpDownCounter("http.server.active_requests", {
    description: "Requests in flight, open WebSockets included.",
    unit: "{request}",
  }).addCallback((result) => result.observe(source.inFlight));
  meter.createObservableGauge("lameduck.state", {
    description: "The server's lifecycle state: 1 for the current one.",
  }).addCallback((result) => {
    const state = source.state;
    for (const s of STATES) result.observe(s === state ? 1 : 0, { state: s });
  });
  const drained = meter.createCounter("lameduck.drain.requests", {
    description: "Requests that ended during the drain, by outcome.",
    unit: "{request}",
  });
  const duration = meter.createHistogram("lameduck.drain.duration", {
    description: "How long the drain lasted.",
    unit: "s",
  });
  source.finished.then((report) => {
    drained.add(report.completed, { outcome: "completed" });
    drained.add(report.aborted, { outcome: "aborted" });
    duration.record(report.durationMs / 1000);
  });
}
