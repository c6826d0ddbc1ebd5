/**
 * The pieces every option validator shares: how a value is named in an error message, and
 * durations.
 *
 * @module
 */

/** Renders a value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (value === null || typeof value !== "object") return String(value);
  return "an object";
}

export function invalid(name: string, expected: string, value: unknown): string {
  return `Invalid ${name}: expected ${expected}, got ${describe(value)}`;
}

/**
 * The longest timer every runtime keeps (2^31 - 1 ms, about 24.8 days): `setTimeout` fires a
 * longer one after 1 ms, which would skip a lame-duck window or force a drain at once.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** A duration in milliseconds, from 0 to {@linkcode MAX_DURATION_MS}. */
export function duration(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const expected = `a number of milliseconds from 0 to ${MAX_DURATION_MS}`;
  if (typeof value !== "number") throw new TypeError(invalid(name, expected, value));
  if (!(value >= 0 && value <= MAX_DURATION_MS)) {
    throw new RangeError(invalid(name, expected, value));
  }
  return value;
}
