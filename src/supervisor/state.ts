/**
 * The supervisor's named states, and the records its events carry: the workers' table, the N
 * slots they serve in, a restart in progress and how the last one ended.
 *
 * @module
 */

import type { Restart } from "./restart.ts";
import type { WorkerExit, WorkerHandle } from "./worker.ts";

/**
 * `starting`: the first workers start (a restart signal is ignored; if one fails, the others
 * are stopped and the supervisor exits 1). `serving`: every slot has a worker or a pending
 * replacement. `restarting`: one slot after another gets a new worker, the old one drains once
 * it is ready. `stopping`: every worker drains; the supervisor exits when the last is gone.
 */
export type SupervisorState = "starting" | "serving" | "restarting" | "stopping";

/** A worker's state: `starting` until it reports ready, `draining` once sent `SIGTERM`. */
export type WorkerState = "starting" | "ready" | "draining";

/** One row of the workers' table. */
export interface WorkerStatus {
  /** The worker's serial number (its `generation`). */
  id: number;
  pid: number | undefined;
  state: WorkerState;
  /** When it reported ready (`Date.now()`), if it did. */
  readySince: number | undefined;
}

/** How the last restart ended. */
export interface RestartOutcome {
  /** The signal that asked for it. */
  signal: string;
  /** `done`: every old worker drained; `failed`: a new one did not get ready; `stopped`. */
  result: "done" | "failed" | "stopped";
  /** Why it failed. */
  reason: string | undefined;
  /** When it began (`Date.now()`). */
  startedAt: number;
  /** How long it took, in ms. */
  durationMs: number;
}

/** What the supervisor reacts to. */
export type Event =
  | { type: "signal"; signal: NodeJS.Signals }
  | { type: "ready"; worker: Entry }
  | { type: "ready-timeout"; worker: Entry }
  | { type: "exit"; worker: Entry; exit: WorkerExit }
  | { type: "kill-timeout"; worker: Entry }
  | { type: "backoff"; slot: Slot };

/** Why a worker was started, which says what its readiness (or its failure) does. */
export type Purpose = "first" | "restart" | "replace";

/** A started worker. */
export interface Entry {
  handle: WorkerHandle;
  slot: Slot;
  purpose: Purpose;
  /** It reported ready, or failed to (then `failure` says how, for the first generation). */
  settled: boolean;
  failure?: string;
  readyAt?: number;
  readySince?: number;
  /** Sent its SIGTERM: a second one would force its drain. */
  told: boolean;
  exited: boolean;
  readyTimer?: ReturnType<typeof setTimeout>;
  killTimer?: ReturnType<typeof setTimeout>;
  /** The restart that replaced it: its exit is logged, and may end that restart. */
  drainOf?: Restart;
}

/** One of the N places a worker serves in. */
export interface Slot {
  index: number;
  worker: Entry | undefined;
  /** Deaths in a row, for the backoff. */
  failures: number;
  /** A pending replacement. */
  timer: ReturnType<typeof setTimeout> | undefined;
}
