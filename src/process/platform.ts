/**
 * Signals and exit for the current runtime. Loaded synchronously by `serve()`, so a signal
 * that arrives before the adapter has loaded is already handled.
 *
 * @module
 */

import type { Platform } from "../core/signals.ts";
import type { Runtime } from "../core/types.ts";

interface DenoLike {
  readonly pid: number;
  permissions: {
    querySync(descriptor: { name: "env"; variable: string }): { state: string };
  };
  env: { get(name: string): string | undefined; delete(name: string): void };
  addSignalListener(signal: string, listener: () => void): void;
  removeSignalListener(signal: string, listener: () => void): void;
  exit(code: number): never;
}

interface ProcessLike {
  readonly pid: number;
  env: Record<string, string | undefined>;
  on(signal: string, listener: () => void): unknown;
  off(signal: string, listener: () => void): unknown;
  exit(code: number): never;
}

const global = globalThis as unknown as { Deno?: DenoLike; process?: ProcessLike };

/**
 * Runs `use` when Deno grants access to the variable `name`: an optional variable must never
 * stop the process at a permission prompt (`deno run --allow-net` in a terminal asks for each
 * variable read without `--allow-env`), so a variable the process may not read counts as unset.
 */
function ifPermitted<T>(deno: DenoLike, name: string, use: () => T): T | undefined {
  try {
    if (deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    return use();
  } catch {
    return undefined;
  }
}

/** Signals, exit and the environment through `Deno` or `process`. */
export function platformFor(runtime: Runtime): Platform {
  if (runtime === "deno") {
    const deno = global.Deno!;
    return {
      pid: deno.pid,
      env: (name) => ifPermitted(deno, name, () => deno.env.get(name)),
      unsetEnv: (name) => void ifPermitted(deno, name, () => deno.env.delete(name)),
      onSignal(signal, listener) {
        deno.addSignalListener(signal, listener);
        return () => deno.removeSignalListener(signal, listener);
      },
      exit: (code) => deno.exit(code),
    };
  }
  const process = global.process!;
  return {
    pid: process.pid,
    env: (name) => process.env[name],
    unsetEnv: (name) => void delete process.env[name],
    onSignal(signal, listener) {
      process.on(signal, listener);
      return () => process.off(signal, listener);
    },
    exit: (code) => process.exit(code),
  };
}
