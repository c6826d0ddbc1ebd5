/**
 * The runtimes the suites drive, where their pinned binaries live, and which ones a run selects.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The runtimes the suite knows. */
export const RUNTIMES = ["deno", "bun", "node"] as const;
/** One of {@linkcode RUNTIMES}. */
export type RuntimeName = (typeof RUNTIMES)[number];

const HERE = dirname(fileURLToPath(import.meta.url));
/** The root of this repository (the directory holding package.json). */
export const ROOT: string = join(HERE, "..", "..");
const BIN = join(ROOT, "node_modules", ".bin");

/** The pinned binary of a runtime (never the machine's default `node`). */
export function binaryOf(runtime: RuntimeName): string {
  return join(BIN, runtime);
}

/** The runtimes selected by `LAMEDUCK_RUNTIMES` (comma list), `deno,bun,node` by default. */
export function selectedRuntimes(): string[] {
  const raw = process.env.LAMEDUCK_RUNTIMES;
  if (raw === undefined || raw.trim() === "") return [...RUNTIMES];
  return raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** The command line that runs `script` (relative to {@linkcode ROOT}) on `runtime`. */
export function commandFor(runtime: RuntimeName, script: string): [string, string[]] {
  const bin = binaryOf(runtime);
  if (!existsSync(bin)) throw new Error(`The ${runtime} binary is missing: ${bin}`);
  switch (runtime) {
    case "deno":
      return [bin, ["run", "-A", script]];
    case "bun":
      return [bin, [script]];
    case "node":
      return [bin, [script]];
  }
}
