/**
 * Cleanup hooks: run after the drain, last registered first, each bounded by its timeout.
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import type { HookOptions, HookReport } from "./types.ts";
import { resolveHook } from "./options.ts";

interface Hook {
  hook: () => unknown;
  name: string;
  timeout: number;
}

function message(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The hooks of one server. */
export class Hooks {
  #hooks: Hook[] = [];
  #count = 0;

  /** Registers a hook; the returned `Disposable` unregisters it. */
  add(hook: () => unknown, options?: HookOptions): Disposable {
    const entry = resolveHook(hook, options, ++this.#count);
    this.#hooks.push(entry);
    return {
      [Symbol.dispose]: () => {
        const index = this.#hooks.indexOf(entry);
        if (index !== -1) this.#hooks.splice(index, 1);
      },
    };
  }

  /**
   * Runs every hook, last registered first; `report` is called after each, with what a failed
   * hook threw (or its timeout's error).
   */
  async run(
    clock: Clock,
    report: (hook: HookReport, error?: unknown) => void,
  ): Promise<HookReport[]> {
    const reports: HookReport[] = [];
    for (const entry of this.#hooks.splice(0).reverse()) {
      const [result, error] = await runOne(clock, entry);
      reports.push(result);
      report(result, error);
    }
    return reports;
  }
}

async function runOne(
  clock: Clock,
  { hook, name, timeout }: Hook,
): Promise<[HookReport, unknown?]> {
  const started = clock.now();
  let cancel!: () => void; // Set at once: a promise's executor runs synchronously.
  const timedOut = new Promise<never>((_, reject) => {
    cancel = clock.after(timeout, () => reject(new Error(`Timed out after ${timeout} ms`)));
  });
  try {
    await Promise.race([Promise.resolve().then(hook), timedOut]);
    return [{ name, ok: true, durationMs: Math.round(clock.now() - started) }];
  } catch (error) {
    return [{
      name,
      ok: false,
      durationMs: Math.round(clock.now() - started),
      error: message(error),
    }, error];
  } finally {
    cancel();
  }
}
