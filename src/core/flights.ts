/**
 * In-flight accounting, in one place (as Go's `net/http` keeps its connection states): which
 * requests are in flight, how many finished or were cut during the drain, and when none is
 * left.
 *
 * @module
 */

/** A request in flight, as the accounting sees it. */
export interface Flight {
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

/** The requests in flight on one server. */
export class Flights<F extends Flight = Flight> {
  #open = new Set<F>();
  /** Forced requests whose forced answer is still being written. */
  #answering = new Set<F>();
  #draining = false;
  #counts: DrainCounts = { atStart: 0, started: 0, completed: 0, aborted: 0 };
  #onEmpty: (() => void) | undefined;
  #onAnswered: (() => void) | undefined;

  /** How many are in flight. */
  get size(): number {
    return this.#open.size;
  }

  /** The counts of the drain so far (all 0 before it starts). */
  get counts(): Readonly<DrainCounts> {
    return this.#counts;
  }

  /** Starts counting a request. */
  add(flight: F): void {
    this.#open.add(flight);
    if (this.#draining) this.#counts.started++;
  }

  /** A request ended; only the first call for a request counts. */
  end(flight: F, outcome: "completed" | "aborted"): void {
    if (this.#answering.delete(flight)) {
      if (this.#answering.size === 0) this.#onAnswered?.();
      return;
    }
    if (!this.#open.delete(flight)) return;
    if (this.#draining) {
      if (outcome === "completed") this.#counts.completed++;
      else this.#counts.aborted++;
    }
    if (this.#open.size === 0) this.#onEmpty?.();
  }

  /** The drain starts: from now on, endings are counted. `inFlight` may exceed `size`. */
  startDrain(inFlight: number): void {
    this.#draining = true;
    this.#counts.atStart = inFlight;
  }

  /** Resolves once no request is in flight. */
  empty(): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve();
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
    this.#counts.aborted += this.#open.size + extra;
    const open = [...this.#open];
    this.#open.clear();
    for (const flight of open) {
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
