/**
 * One restart of `lameduck run`: it walks the slots in order, one new worker at a time; each new
 * worker that gets ready takes its slot and the slot's old worker drains. It is done once every
 * slot has its new worker and every old one has exited.
 *
 * @module
 */

import { exitedLine, type Line, type Log, one, ref, since } from "./lines.ts";
import type { WorkerPool } from "./pool.ts";
import type { Entry, RestartOutcome, Slot } from "./state.ts";
import type { WorkerExit } from "./worker.ts";

/** A restart in progress. */
export class Restart {
  /** The signal that asked for it. */
  readonly signal: string;
  readonly #startedAt = performance.now();
  readonly #startedEpoch = Date.now();
  #index = 0;
  /** The worker of the slot being replaced, when its new worker started. */
  #old: Entry | undefined;
  #draining = new Set<Entry>();
  #replaced = false;
  #slots: readonly Slot[];
  #pool: WorkerPool;
  #log: Log;

  constructor(
    signal: string,
    slots: readonly Slot[],
    pool: WorkerPool,
    log: Log,
  ) {
    this.signal = signal;
    this.#slots = slots;
    this.#pool = pool;
    this.#log = log;
  }

  /** The next slot to get a new worker (its current worker is noted), `undefined` after the last. */
  next(): Slot | undefined {
    const slot = this.#slots[this.#index++];
    this.#old = slot?.worker;
    return slot;
  }

  /** The new worker of the current slot is ready: it takes the slot, whose old worker drains. */
  take(entry: Entry): void {
    const slot = entry.slot;
    // The slot's worker died meanwhile and was already replaced: this one is not needed.
    if (slot.worker !== this.#old && slot.worker !== undefined) return this.#pool.terminate(entry);
    // A pending replacement of a dead worker is not needed either.
    clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.worker = entry;
    slot.failures = 0;
    const old = this.#old;
    if (old && !old.exited) {
      this.#log({
        event: "worker-replaced",
        worker: old.handle,
        msg: `${one(old.handle)} replaced by ${one(entry.handle)}: SIGTERM, it drains`,
        fields: { by: ref(entry.handle) },
      });
      this.#pool.terminate(old);
      old.drainOf = this;
      this.#draining.add(old);
    }
  }

  /** Every slot has its new worker. */
  replaced(): void {
    this.#replaced = true;
  }

  /** An old worker it replaced has exited. */
  drained(entry: Entry, exit: WorkerExit): void {
    this.#log(exitedLine(entry.handle, exit));
    this.#draining.delete(entry);
  }

  /** Every slot has its new worker and every old worker has exited. */
  get done(): boolean {
    return this.#replaced && this.#draining.size === 0;
  }

  /** The log line of a restart that is done. */
  get doneLine(): Line {
    return {
      event: "restart-done",
      msg: `restart done in ${since(this.#startedAt)}`,
      fields: { signal: this.signal, durationMs: Math.round(performance.now() - this.#startedAt) },
    };
  }

  /** How it ended (the supervisor's `lastRestart`). */
  outcome(result: RestartOutcome["result"], reason?: string): RestartOutcome {
    return {
      signal: this.signal,
      result,
      reason,
      startedAt: this.#startedEpoch,
      durationMs: Math.round(performance.now() - this.#startedAt),
    };
  }
}
