/**
 * Where a request enters the core: readiness and overload are answered here without calling
 * `fetch`; every other request becomes an {@linkcode Exchange} in flight.
 *
 * @module
 */

import type { Host } from "./adapter.ts";
import type { Context } from "./context.ts";
import { Exchange, type Handler } from "./exchange.ts";
import type { Flights } from "./flights.ts";
import { overloadedResponse, pathOf, readinessResponse } from "./responses.ts";
import type { LifecycleEvent } from "./types.ts";

/** The {@linkcode Host} of one server. */
export class Gate implements Host {
  readonly signal: AbortSignal;
  /** Set by the server when shutdown starts. */
  draining = false;
  readonly #flights: Flights<Exchange>;
  readonly #handler: Handler;
  readonly #readiness: string | false;
  readonly #maxInFlight: number;

  constructor(
    flights: Flights<Exchange>,
    handler: Handler,
    signal: AbortSignal,
    limits: { readiness: string | false; maxInFlight: number },
  ) {
    this.#flights = flights;
    this.#handler = handler;
    this.signal = signal;
    this.#readiness = limits.readiness;
    this.#maxInFlight = limits.maxInFlight;
  }

  log(event: LifecycleEvent): void {
    this.#handler.log(event);
  }

  open(request: Request, ctx: Context): Exchange | Response {
    const readiness = this.#readiness;
    if (readiness !== false && pathOf(request.url) === readiness) {
      const method = request.method;
      if (method === "GET" || method === "HEAD") {
        return readinessResponse(!this.draining, method === "HEAD");
      }
    }
    // lameduck's own count: Bun's pendingRequests already includes this very request.
    const flights = this.#flights;
    if (flights.size >= this.#maxInFlight) return overloadedResponse();
    const exchange = new Exchange(flights, this.#handler, request, ctx);
    flights.add(exchange);
    return exchange;
  }
}
