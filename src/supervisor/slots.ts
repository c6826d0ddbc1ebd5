/**
 * The N places the supervisor's workers serve in, and the backoff before a dead worker is
 * replaced: 100 ms, doubling per death in a row up to 10 s; a worker that served 10 s first
 * resets its slot's count.
 *
 * @module
 */

import type { Entry, Slot } from "./state.ts";
import type { WorkerHandle } from "./worker.ts";

/** The first delay before replacing a worker that died; it doubles per failure in a row. */
export const BACKOFF_START_MS = 100;
/** The longest delay before replacing a worker that died. */
export const BACKOFF_MAX_MS = 10_000;
/** A worker that served this long before dying resets its slot's backoff. */
const BACKOFF_RESET_MS = 10_000;

/** The slots, in order. */
export class Slots {
  readonly list: readonly Slot[];

  constructor(count: number) {
    this.list = Array.from(
      { length: count },
      (_, index) => ({ index, worker: undefined, failures: 0, timer: undefined }),
    );
  }

  /** The workers that hold a slot, slot by slot. */
  serving(): WorkerHandle[] {
    return this.list.flatMap((s) => (s.worker ? [s.worker.handle] : []));
  }

  /** Whether a slot waits for the replacement of a worker that died. */
  pending(): boolean {
    return this.list.some((s) => s.timer);
  }

  /** Empties the slot of `entry`, which died; a long life first resets the slot's backoff. */
  died(entry: Entry): void {
    entry.slot.worker = undefined;
    const served = performance.now() - (entry.readyAt ?? performance.now());
    if (served >= BACKOFF_RESET_MS) entry.slot.failures = 0;
  }

  /** The backoff before replacing the worker of `slot` that died, counting this death. */
  backoff(slot: Slot): number {
    return Math.min(BACKOFF_START_MS * 2 ** slot.failures++, BACKOFF_MAX_MS);
  }

  /** Cancels every pending replacement. */
  cancel(): void {
    for (const slot of this.list) clearTimeout(slot.timer);
  }
}
