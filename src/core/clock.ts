/**
 * Time, as the core sees it: the real one in production, one the test drives in the
 * in-process unit tests of the shutdown sequence.
 *
 * @module
 */

/** Cancels a timer; safe to call more than once. */
export type Cancel = () => void;

/** The timers and the monotonic time the core uses. */
export interface Clock {
  /** Milliseconds from an arbitrary origin, monotonic. */
  now(): number;
  /** Calls `fn` once after `ms`. */
  after(ms: number, fn: () => void): Cancel;
  /** Calls `fn` every `ms` until cancelled. */
  every(ms: number, fn: () => void): Cancel;
}

/** The runtime's own timers and `performance.now()`. */
export const realClock: Clock = {
  now: () => performance.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
};

/** Resolves after `ms`, or as soon as `cancel` settles. */
export function sleep(clock: Clock, ms: number, cancel: Promise<unknown>): Promise<void> {
  let stop!: Cancel; // Set at once: a promise's executor runs synchronously.
  return Promise.race([
    new Promise<void>((resolve) => stop = clock.after(ms, resolve)),
    cancel.then(() => {}),
  ]).finally(() => stop());
}
