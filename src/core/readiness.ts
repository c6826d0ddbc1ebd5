/**
 * The readiness probe's checks, run on demand: a probe starts one run of every check, probes
 * that arrive while it is in flight share it, and a check still running from an earlier run
 * (past its timeout) is joined, never called again: a hanging database ping cannot pile up.
 * Once shutdown starts the probe answers `503` at once, and a run in flight settles with it,
 * so a check never delays the drain.
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import type { ReadinessCheck } from "./types.ts";

/** One check's outcome: `ok`, or the error it failed with. */
export type CheckResult = { ok: true } | { ok: false; error: string };

/** What the readiness probe found: the status, and each check by name. */
export interface ReadinessResult {
  status: "ok" | "failing" | "draining";
  checks: Record<string, CheckResult>;
}

const OK: CheckResult = { ok: true };

function failure(error: unknown): CheckResult {
  return { ok: false, error: error instanceof Error ? error.message : String(error) };
}

/** The checks of one server's readiness probe. */
export class ReadinessChecks {
  readonly #checks: readonly (readonly [string, ReadinessCheck])[];
  readonly #timeout: number;
  readonly #clock: Clock;
  readonly #shutdown: AbortSignal;
  /** The run probes share, while it is in flight. */
  #run: Promise<ReadinessResult> | undefined;
  /** Each check's call, until it settles (even past the timeout). */
  readonly #calls = new Map<string, Promise<CheckResult>>();
  /** Settles once shutdown starts. */
  readonly #draining: Promise<"draining">;

  constructor(
    checks: readonly (readonly [string, ReadinessCheck])[],
    timeout: number,
    clock: Clock,
    shutdown: AbortSignal,
  ) {
    this.#checks = checks;
    this.#timeout = timeout;
    this.#clock = clock;
    this.#shutdown = shutdown;
    this.#draining = new Promise((resolve) => {
      if (shutdown.aborted) return resolve("draining");
      shutdown.addEventListener("abort", () => resolve("draining"), { once: true });
    });
  }

  /** Runs the checks, or joins the run in flight. Never rejects. */
  run(): ReadinessResult | Promise<ReadinessResult> {
    if (this.#shutdown.aborted) return { status: "draining", checks: {} };
    if (this.#checks.length === 0) return { status: "ok", checks: {} };
    if (this.#run) return this.#run;
    const run = this.#start();
    this.#run = run;
    run.then(() => this.#run = undefined);
    return run;
  }

  async #start(): Promise<ReadinessResult> {
    let cancel = () => {};
    const timeout = this.#timeout;
    const timedOut = new Promise<"timeout">((resolve) => {
      cancel = this.#clock.after(timeout, () => resolve("timeout"));
    });
    const results = await Promise.all(
      this.#checks.map(async ([name, check]) => {
        const outcome = await Promise.race([this.#call(name, check), timedOut, this.#draining]);
        if (outcome === "timeout") return [name, failure(`timed out after ${timeout} ms`)] as const;
        return [name, outcome] as const;
      }),
    );
    cancel();
    const checks = Object.fromEntries(results.filter(([, r]) => r !== "draining")) as Record<
      string,
      CheckResult
    >;
    if (this.#shutdown.aborted) return { status: "draining", checks };
    return {
      status: results.every(([, r]) => r !== "draining" && r.ok) ? "ok" : "failing",
      checks,
    };
  }

  #call(name: string, check: ReadinessCheck): Promise<CheckResult> {
    let call = this.#calls.get(name);
    if (call) return call;
    call = Promise.resolve().then(check).then(
      (value) => value === false ? failure("returned false") : OK,
      failure,
    );
    this.#calls.set(name, call);
    call.then(() => this.#calls.delete(name));
    return call;
  }
}
