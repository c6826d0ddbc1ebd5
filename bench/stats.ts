/**
 * Summaries for interleaved rounds: median with min–max, and per-round ratios (A/B measured in
 * the same round, so drift of the machine between rounds cancels out).
 *
 * @module
 */

/** Median, minimum and maximum of a set of samples. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Every sample, in round order. */
  samples: number[];
}

/** The median of `values` (mean of the middle two for an even count); `NaN` when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Summarises `samples`, ignoring `NaN` (a failed run). */
export function summarize(samples: readonly number[]): Summary {
  const valid = samples.filter((x) => Number.isFinite(x));
  return {
    median: median(valid),
    min: valid.length ? Math.min(...valid) : NaN,
    max: valid.length ? Math.max(...valid) : NaN,
    samples: [...samples],
  };
}

/** Round-by-round ratios `a[i] / b[i]`, summarised. */
export function ratios(a: readonly number[], b: readonly number[]): Summary {
  return summarize(a.map((x, i) => x / (b[i] ?? NaN)));
}

/** `1234.5` → `"1,235"`. */
export function int(x: number): string {
  return Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "n/a";
}

/** A summary as `"median (min–max)"`, with `format` applied to each number. */
export function span(s: Summary, format: (x: number) => string = int): string {
  if (!Number.isFinite(s.median)) return "n/a";
  if (s.min === s.max) return format(s.median);
  return `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
}

/** A ratio summary as `"0.98 (0.95–1.01)"`. */
export function ratioSpan(s: Summary): string {
  return span(s, (x) => x.toFixed(2));
}

/** `true`/`false` as a table verdict against a target. */
export function verdict(ok: boolean): string {
  return ok ? "met" : "**missed**";
}

/** Rotates `items` left by `n` (interleaving: each round starts with a different one). */
export function rotate<T>(items: readonly T[], n: number): T[] {
  if (items.length === 0) return [];
  const k = ((n % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
