/**
 * In-flight accounting, in one place (as Go's `net/http` keeps its connection states): which
 * requests are in flight, how many finished or were cut during the drain, and when none is
 * left.
 *
 * @module
 */

/** A request in flight, as the accounting sees it. */
export interface Flight {
  /** Its index in the in-flight list, `-1` when not in flight (kept by {@linkcode Flights}). */
  slot: number;
  /**
   * Forced shutdown: cut the request. Returns `true` when it answered a handler that had not
   * responded yet (the answer still has to reach the client).
   */
  force(reason: unknown): boolean;
}

/** The counts of one drain. */
export interface DrainCounts {
  /** In flight when the drain started. */
  atStart: number;
  /** Started during the drain (the lame-duck window, or a connection still being served). */
  started: number;
  /** Ended by themselves during the drain. */
  completed: number;
  /** Cut when the drain was forced. */
  aborted: number;
}

/**
 * How many requests of a finished drain completed: everything counted in flight when it
 * started, or started during it, that was not cut. (Upgraded connections, which the adapter
 * counts outside the core's requests, end without passing through {@linkcode Flights.end}.)
 */
export function settled(counts: Readonly<DrainCounts>): number {
  return Math.max(counts.completed, counts.atStart + counts.started - counts.aborted);
}

/** The requests in flight on one server. */
export class Flights<F extends Flight = Flight> {
  /**
   * In flight, unordered: each knows its index, so ending one swaps the last into its place.
   * (A `Set` costs an identity hash per request: measurable on Bun's hot path.)
   */
  #open: F[] = [];
  /** Forced requests whose forced answer is still being written. */
  #answering = new Set<F>();
  #draining = false;
  #counts: DrainCounts = { atStart: 0, started: 0, completed: 0, aborted: 0 };
  #onEmpty: (() => void) | undefined;
  #onAnswered: (() => void) | undefined;

  /** How many are in flight. */
  get size(): number {
    return this.#open.length;
  }

  /** The counts of the drain so far (all 0 before it starts). */
  get counts(): Readonly<DrainCounts> {
    return this.#counts;
  }

  /** Starts counting a request. */
  add(flight: F): void {
    flight.slot = this.#open.push(flight) - 1;
    if (this.#draining) this.#counts.started++;
  }

  /** A request ended; only the first call for a request counts. */
  end(flight: F, outcome: "completed" | "aborted"): void {
    const slot = flight.slot;
    if (slot < 0) {
      if (this.#answering.size > 0 && this.#answering.delete(flight)) {
        if (this.#answering.size === 0) this.#onAnswered?.();
      }
      return;
    }
    flight.slot = -1;
    const open = this.#open;
    const last = open.pop()!;
    if (last !== flight) {
      open[slot] = last;
      last.slot = slot;
    }
    if (this.#draining) {
      if (outcome === "completed") this.#counts.completed++;
      else this.#counts.aborted++;
    }
    if (open.length === 0) this.#onEmpty?.();
  }

  /** The drain starts: from now on, endings are counted. `inFlight` may exceed `size`. */
  startDrain(inFlight: number): void {
    this.#draining = true;
    this.#counts.atStart = inFlight;
  }

  /** Resolves once no request is in flight. */
  empty(): Promise<void> {
    if (this.#open.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onEmpty = () => {
        this.#onEmpty = undefined;
        resolve();
      };
    });
  }

  /**
   * Cuts every request in flight (each counts as aborted). Resolves once the forced answers
   * given in place of handlers that never responded have been handed to the runtime.
   */
  force(reason: unknown, extra = 0): Promise<void> {
    const open = this.#open;
    this.#open = [];
    this.#counts.aborted += open.length + extra;
    for (const flight of open) {
      flight.slot = -1;
      if (flight.force(reason)) this.#answering.add(flight);
    }
    this.#onEmpty?.();
    if (this.#answering.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onAnswered = () => {
        this.#onAnswered = undefined;
        resolve();
      };
    });
  }
}
