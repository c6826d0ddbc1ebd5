/**
 * Validation of the probe options (`readiness`, `liveness`, `metrics`): each path starts with
 * `/`, and no two probes share one.
 *
 * @module
 */

import { describe, duration, invalid } from "./option_values.ts";
import type { ReadinessCheck } from "./types.ts";

/** A probe's path: starts with `/`, no space, query or fragment. */
export function probePath(name: string, value: unknown): string | false {
  if (value === undefined || value === false) return false;
  const expected = 'false or a path starting with "/"';
  if (typeof value !== "string") throw new TypeError(invalid(name, expected, value));
  if (!value.startsWith("/") || /[\s?#]/.test(value)) {
    throw new RangeError(invalid(name, expected, value));
  }
  return value;
}

/** `readiness` resolved: its path, and for the object form its checks and timeout. */
export type ReadinessConfig = false | {
  path: string;
  /** `false` for the string form (a text body), `true` for the object form (JSON). */
  json: boolean;
  checks: readonly (readonly [string, ReadinessCheck])[];
  timeout: number;
};

export function readiness(value: unknown): ReadinessConfig {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    const path = probePath("readiness", value);
    return path === false ? false : { path, json: false, checks: [], timeout: 500 };
  }
  const { path, checks = {}, timeout } = value as Record<string, unknown>;
  const checked = probePath("readiness.path", path);
  if (checked === false) {
    throw new TypeError(invalid("readiness.path", 'a path starting with "/"', path));
  }
  if (checks === null || typeof checks !== "object" || Array.isArray(checks)) {
    throw new TypeError(invalid("readiness.checks", "an object of functions", checks));
  }
  const entries = Object.entries(checks as Record<string, unknown>);
  for (const [name, check] of entries) {
    if (typeof check !== "function") {
      throw new TypeError(invalid(`readiness.checks.${name}`, "a function", check));
    }
  }
  return {
    path: checked,
    json: true,
    checks: entries as [string, ReadinessCheck][],
    timeout: duration("readiness.timeout", timeout, 500),
  };
}

/** Throws a `RangeError` when two probes share a path. */
export function checkProbePaths(
  r: { readiness: ReadinessConfig; liveness: string | false; metrics: string | false },
): void {
  const paths = [
    ["readiness", r.readiness === false ? false : r.readiness.path],
    ["liveness", r.liveness],
    ["metrics", r.metrics],
  ] as const;
  for (const [i, [name, path]] of paths.entries()) {
    const before = paths.slice(0, i).find(([, other]) => path !== false && other === path);
    if (before) {
      throw new RangeError(`Invalid ${name}: ${describe(path)} is already the ${before[0]} path`);
    }
  }
}
