/**
 * Signals and exit for the current runtime. Loaded synchronously by `serve()`, so a signal
 * that arrives before the adapter has loaded is already handled.
 *
 * @module
 */

import type { Platform } from "../core/adapter.ts";
import type { Runtime } from "../core/types.ts";

interface DenoLike {
  addSignalListener(signal: string, listener: () => void): void;
  removeSignalListener(signal: string, listener: () => void): void;
  exit(code: number): never;
}

interface ProcessLike {
  on(signal: string, listener: () => void): unknown;
  off(signal: string, listener: () => void): unknown;
  exit(code: number): never;
  versions?: { node?: string };
}

const global = globalThis as unknown as { Deno?: DenoLike; Bun?: unknown; process?: ProcessLike };

/** Which runtime this is. */
export function detectRuntime(): Runtime {
  if (global.Deno !== undefined) return "deno";
  if (global.Bun !== undefined) return "bun";
  if (global.process?.versions?.node !== undefined) return "node";
  throw new Error("Unsupported runtime: lameduck runs on Deno, Bun and Node");
}

/** Signals and exit through `Deno.addSignalListener`/`Deno.exit` or `process`. */
export function platformFor(runtime: Runtime): Platform {
  if (runtime === "deno") {
    const deno = global.Deno!;
    return {
      onSignal(signal, listener) {
        deno.addSignalListener(signal, listener);
        return () => deno.removeSignalListener(signal, listener);
      },
      exit: (code) => deno.exit(code),
    };
  }
  const process = global.process!;
  return {
    onSignal(signal, listener) {
      process.on(signal, listener);
      return () => process.off(signal, listener);
    },
    exit: (code) => process.exit(code),
  };
}
