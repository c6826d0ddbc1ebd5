/**
 * The server's figures, read when asked (nothing is counted per request): the Prometheus text
 * exposition of the `metrics` path, and the same instruments on OpenTelemetry (otel.ts).
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import type { DrainCounts } from "./flights.ts";
import type { ServerState, ShutdownReport } from "./types.ts";

/** What the figures are read from: the server, as its users see it. */
export interface MetricsSource {
  readonly state: ServerState;
  readonly inFlight: number;
  readonly signal: AbortSignal;
  readonly finished: Promise<ShutdownReport>;
}

/** The figures at one moment. */
export interface Figures {
  inFlight: number;
  state: ServerState;
  /** Requests that ended during the drain so far, by outcome. */
  completed: number;
  aborted: number;
  /** How long the drain has lasted (`0` before it starts), in seconds. */
  drainSeconds: number;
}

export const STATES: readonly ServerState[] = ["serving", "draining", "closed"];

/** Reads the {@linkcode Figures} of one server. */
export class Metrics {
  readonly #source: MetricsSource;
  readonly #counts: () => Readonly<DrainCounts>;
  readonly #clock: Clock;
  #drainStart: number | undefined;
  #report: ShutdownReport | undefined;

  constructor(source: MetricsSource, counts: () => Readonly<DrainCounts>, clock: Clock) {
    this.#source = source;
    this.#counts = counts;
    this.#clock = clock;
    source.signal.addEventListener("abort", () => this.#drainStart = clock.now(), { once: true });
    source.finished.then((report) => this.#report = report);
  }

  /** The figures now. */
  read(): Figures {
    const report = this.#report;
    const counts = this.#counts();
    const start = this.#drainStart;
    return {
      inFlight: this.#source.inFlight,
      state: this.#source.state,
      completed: report?.completed ?? counts.completed,
      aborted: report?.aborted ?? counts.aborted,
      drainSeconds: report
        ? report.durationMs / 1000
        : start === undefined
        ? 0
        : (this.#clock.now() - start) / 1000,
    };
  }
}

/** The Prometheus text exposition (format 0.0.4) of `figures`. */
export function prometheusText(figures: Figures): string {
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, samples: string[]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
  };
  metric(
    "lameduck_http_server_active_requests",
    "gauge",
    "Requests in flight (OpenTelemetry http.server.active_requests), open WebSockets included.",
    [`lameduck_http_server_active_requests ${figures.inFlight}`],
  );
  metric(
    "lameduck_state",
    "gauge",
    "The server's lifecycle state: 1 for the current one.",
    STATES.map((s) => `lameduck_state{state="${s}"} ${s === figures.state ? 1 : 0}`),
  );
  metric(
    "lameduck_drain_requests_total",
    "counter",
    "Requests that ended during the drain, by outcome (aborted: cut when it was forced).",
    [
      `lameduck_drain_requests_total{outcome="completed"} ${figures.completed}`,
      `lameduck_drain_requests_total{outcome="aborted"} ${figures.aborted}`,
    ],
  );
  metric(
    "lameduck_drain_duration_seconds",
    "gauge",
    "How long the drain has lasted so far (0 before shutdown starts).",
    [`lameduck_drain_duration_seconds ${figures.drainSeconds}`],
  );
  return lines.join("\n") + "\n";
}

/** The `metrics` path's answer. */
export function metricsResponse(figures: Figures, head: boolean): Response {
  return new Response(head ? null : prometheusText(figures), {
    headers: {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
      "cache-control": "no-store",
    },
  });
}
