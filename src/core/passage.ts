/**
 * A request served by a Node listener (`serve({ listener })`): the core never sees its request
 * or response, only when it starts and ends. The adapter ends it when the listener's `res`
 * closes (finished, or the client left); a forced drain cuts its connection.
 *
 * @module
 */

import type { Flight, Flights } from "./flights.ts";

/** A listener's request in flight: the unit of accounting that {@linkcode Exchange} is for `fetch`. */
export class Passage implements Flight {
  /** Kept by {@linkcode Flights}. */
  slot = -1;
  readonly #flights: Flights<Flight>;

  constructor(flights: Flights<Flight>) {
    this.#flights = flights;
  }

  /**
   * Forced shutdown: nothing to answer here (the listener owns its response); the adapter
   * cuts the connection, which closes `res`.
   */
  force(): boolean {
    return false;
  }

  /** Ends the passage; only the first call counts ({@linkcode Flights.end}). */
  end(outcome: "completed" | "aborted" = "completed"): void {
    this.#flights.end(this, outcome);
  }
}
