/**
 * Where a request enters the core: the probes (readiness, liveness, metrics) and overload are
 * answered here without calling `fetch`; every other request becomes an {@linkcode Exchange}
 * in flight.
 *
 * @module
 */

import type { Host } from "./adapter.ts";
import type { Context } from "./context.ts";
import { Exchange, type Handler } from "./exchange.ts";
import type { Flights } from "./flights.ts";
import { Passage } from "./passage.ts";
import { type ProbeOptions, type ProbeParts, Probes } from "./probes.ts";
import { overloadedResponse, pathOf } from "./responses.ts";
import type { LifecycleEvent } from "./types.ts";

/** The {@linkcode Host} of one server. */
export class Gate implements Host {
  readonly signal: AbortSignal;
  /** Set by the server when shutdown starts. */
  draining = false;
  readonly #flights: Flights<Exchange | Passage>;
  readonly #handler: Handler;
  /** `undefined` when no probe path is set: the request path then pays one comparison. */
  readonly #probes: Probes | undefined;
  readonly #maxInFlight: number;

  constructor(
    flights: Flights<Exchange | Passage>,
    handler: Handler,
    signal: AbortSignal,
    limits: ProbeOptions & { maxInFlight: number },
    parts: Omit<ProbeParts, "counts">,
  ) {
    this.#flights = flights;
    this.#handler = handler;
    this.signal = signal;
    this.#probes = Probes.of(limits, { ...parts, counts: () => flights.counts });
    this.#maxInFlight = limits.maxInFlight;
  }

  log(event: LifecycleEvent): void {
    this.#handler.log(event);
  }

  open(request: Request, ctx: Context): Exchange | Response {
    const probes = this.#probes;
    if (probes !== undefined) {
      const answer = probes.answer(request);
      if (answer instanceof Response) return answer;
      if (answer !== undefined) return this.#later(answer, request, ctx);
    }
    // lameduck's own count: Bun's pendingRequests already includes this very request.
    const flights = this.#flights;
    if (flights.size >= this.#maxInFlight) return overloadedResponse();
    const exchange = new Exchange(flights, this.#handler, request, ctx);
    flights.add(exchange);
    return exchange;
  }

  admit(method: string, target: string): Passage | Response | Promise<Response> {
    const probes = this.#probes;
    if (probes !== undefined) {
      const answer = probes.answerAt(method, targetPath(target));
      if (answer !== undefined) return answer;
    }
    const flights = this.#flights;
    if (flights.size >= this.#maxInFlight) return overloadedResponse();
    const passage = new Passage(flights);
    flights.add(passage);
    return passage;
  }

  /**
   * A probe answer that waits (readiness checks): an exchange the adapter serves like any
   * other, but never added to the in-flight requests, so it is not counted, and the drain
   * neither waits for it nor cuts it (the checks settle it with `503` once shutdown starts).
   */
  #later(answer: Promise<Response>, request: Request, ctx: Context): Exchange {
    const { failed, cut, log } = this.#handler;
    return new Exchange(this.#flights, { fetch: () => answer, failed, cut, log }, request, ctx);
  }
}

/**
 * The path of a request target as the client sent it (origin-form `/path?query`, or
 * absolute-form `http://host/path` from a proxy), without its query or fragment.
 */
export function targetPath(target: string): string {
  if (target.charCodeAt(0) !== 47 /* / */) return pathOf(target);
  for (let i = 1; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) return target.slice(0, i);
  }
  return target;
}
