/**
 * Time helpers every test file shares: a monotonic clock, `sleep`, and `within`, the one bounded
 * wait of the suites (a hang fails with a message instead of blocking the runner).
 *
 * Runtime-neutral: unit tests on Deno, Bun and Node and the fixture programs import it too.
 *
 * @module
 */

/** Milliseconds on this process's monotonic clock. */
export function now(): number {
  return performance.now();
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Settles like `promise`, or rejects with `Timed out after <ms> ms: <what>` when it has not
 * settled within `ms`. The timer is cleared either way, so it never keeps a process alive.
 */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The bound for "at once" in process-level tests: a loaded 2-core machine stays well inside it,
 * and every slow alternative it tells apart does not (Node's 5 s `keepAliveTimeout`, the 10 s
 * default `drainTimeout`, a hook's 5 s default timeout). Tests measure durations only where the
 * duration is the point, and then with this much room.
 */
export const PROMPT_MS = 3_000;
