/**
 * The paths the core answers itself, without calling `fetch`: readiness, liveness and
 * metrics. Only `GET` and `HEAD` are answered; other methods reach the handler.
 *
 * | probe | serving | lame-duck window and drain |
 * |---|---|---|
 * | readiness (string) | `200 ok` | `503 draining` |
 * | readiness (object) | `200` JSON, or `503` while a check fails or times out | `503` JSON, checks not run |
 * | liveness | `200 ok` | `200 ok` |
 * | metrics | `200` Prometheus text | `200` Prometheus text |
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import type { DrainCounts } from "./flights.ts";
import { Metrics, metricsResponse, type MetricsSource } from "./metrics.ts";
import type { ReadinessConfig } from "./probe_options.ts";
import { ReadinessChecks, type ReadinessResult } from "./readiness.ts";
import { pathOf, readinessResponse } from "./responses.ts";

type Probe = (head: boolean) => Response | Promise<Response>;

/** The probe options, resolved. */
export interface ProbeOptions {
  readiness: ReadinessConfig;
  liveness: string | false;
  metrics: string | false;
}

/** What the probes read: the server, its drain counts, time, and where OpenTelemetry is. */
export interface ProbeParts {
  source: MetricsSource;
  counts: () => Readonly<DrainCounts>;
  clock: Clock;
  /** Records the figures on OpenTelemetry when the app has it (otel.ts). */
  otel?: (source: MetricsSource) => void;
}

function json(result: ReadinessResult, head: boolean): Response {
  return new Response(head ? null : JSON.stringify(result) + "\n", {
    status: result.status === "ok" ? 200 : 503,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

function liveResponse(head: boolean): Response {
  return readinessResponse(true, head);
}

/** The probe paths of one server. */
export class Probes {
  readonly #paths = new Map<string, Probe>();

  /** The probes `options` ask for; `undefined` when none (the request path then skips them). */
  static of(options: ProbeOptions, parts: ProbeParts): Probes | undefined {
    const { readiness, liveness, metrics } = options;
    if (readiness === false && liveness === false && metrics === false) return undefined;
    return new Probes(options, parts);
  }

  private constructor({ readiness, liveness, metrics }: ProbeOptions, parts: ProbeParts) {
    const { source, clock } = parts;
    if (readiness !== false && !readiness.json) {
      this.#paths.set(readiness.path, (head) => readinessResponse(!source.signal.aborted, head));
    } else if (readiness !== false) {
      const checks = new ReadinessChecks(readiness.checks, readiness.timeout, clock, source.signal);
      this.#paths.set(readiness.path, (head) => {
        const result = checks.run();
        return result instanceof Promise ? result.then((r) => json(r, head)) : json(result, head);
      });
    }
    if (liveness !== false) this.#paths.set(liveness, liveResponse);
    if (metrics !== false) {
      const figures = new Metrics(source, parts.counts, clock);
      this.#paths.set(metrics, (head) => metricsResponse(figures.read(), head));
      parts.otel?.(source);
    }
  }

  /** The probe's answer to `request`, or `undefined` when it is not a probe. */
  answer(request: Request): Response | Promise<Response> | undefined {
    const probe = this.#paths.get(pathOf(request.url));
    if (probe === undefined) return undefined;
    const method = request.method;
    if (method !== "GET" && method !== "HEAD") return undefined;
    return probe(method === "HEAD");
  }

  /**
   * The probe's answer to a request by its method and path (a Node listener's request, for
   * which no `Request` is built), or `undefined` when it is not a probe.
   */
  answerAt(method: string, path: string): Response | Promise<Response> | undefined {
    const probe = this.#paths.get(path);
    if (probe === undefined || (method !== "GET" && method !== "HEAD")) return undefined;
    return probe(method === "HEAD");
  }
}
