/**
 * How the contract fixture reports: one JSON object per line on stdout, written synchronously so
 * nothing is lost when the library exits the process.
 *
 * @module
 */

import { writeSync } from "node:fs";

function plain(value: unknown): unknown {
  const json = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Error) return String(v);
    if (typeof Request !== "undefined" && v instanceof Request) return `${v.method} ${v.url}`;
    if (typeof v === "bigint") return String(v);
    if (typeof v === "number" && !Number.isFinite(v)) return String(v);
    return v;
  });
  return json === undefined ? null : JSON.parse(json);
}

/** Writes `record` as one JSON line (errors, requests, bigints and non-finite numbers as text). */
export function emit(record: Record<string, unknown>): void {
  const bytes = new TextEncoder().encode(JSON.stringify(plain(record)) + "\n");
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(1, bytes, offset, bytes.length - offset);
    } catch (error) {
      if ((error as { code?: string }).code !== "EAGAIN") throw error;
    }
  }
}
