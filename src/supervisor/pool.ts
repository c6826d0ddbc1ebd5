/**
 * The supervisor's workers' table: every worker not yet exited, in the order they started. It
 * spawns them, turns their readiness, exit and timeouts into {@linkcode Event}s for the
 * supervisor, and stops each one once (`SIGTERM`, then `SIGKILL` after `--stop-timeout`).
 *
 * @module
 */

import { LOG_VARIABLE, WORKER_ID_VARIABLE } from "../process/environment.ts";
import type { RunOptions } from "./args.ts";
import { type Log, one } from "./lines.ts";
import type { Setup } from "./startup.ts";
import type { Entry, Event, Purpose, Slot, WorkerStatus } from "./state.ts";
import type { System } from "./system.ts";
import type { WorkerHandle } from "./worker.ts";

/** The live workers. */
export class WorkerPool {
  #live = new Set<Entry>();
  #generation = 0;
  #options: RunOptions;
  #system: System;
  #setup: Setup;
  #log: Log;
  #dispatch: (event: Event) => void;

  constructor(
    options: RunOptions,
    system: System,
    setup: Setup,
    log: Log,
    dispatch: (event: Event) => void,
  ) {
    this.#options = options;
    this.#system = system;
    this.#setup = setup;
    this.#log = log;
    this.#dispatch = dispatch;
  }

  /** How many workers have not exited. */
  get size(): number {
    return this.#live.size;
  }

  /** The live workers, in the order they started. */
  handles(): WorkerHandle[] {
    return [...this.#live].map((e) => e.handle);
  }

  /** The workers' table. */
  rows(): WorkerStatus[] {
    return [...this.#live].map((e) => ({
      id: e.handle.generation,
      pid: e.handle.pid,
      state: e.told ? "draining" : e.readyAt === undefined ? "starting" : "ready",
      readySince: e.readySince,
    }));
  }

  /** Starts a worker for `slot`; its ready, exit and `--ready-timeout` arrive as events. */
  start(slot: Slot, purpose: Purpose): Entry {
    const { socket, reuseport, env, dir } = this.#setup;
    const generation = ++this.#generation;
    const handle = this.#system.spawn({
      generation,
      command: this.#options.command,
      fd: reuseport ? undefined : socket.fd,
      // The worker's log lines name it; with --log json they are JSON by default.
      env: {
        ...env,
        [WORKER_ID_VARIABLE]: `${generation}`,
        ...(this.#options.log === "json" ? { [LOG_VARIABLE]: "json" } : {}),
      },
      dir: dir.path,
      log: this.#log,
    });
    const entry: Entry = { handle, slot, purpose, settled: false, told: false, exited: false };
    this.#live.add(entry);
    this.#log({
      event: "worker-started",
      worker: handle,
      msg: `worker ${handle.generation} started (pid ${handle.pid ?? "none"})`,
    });
    void handle.exited.then((exit) => this.#dispatch({ type: "exit", worker: entry, exit }));
    void handle.ready.then(() => this.#dispatch({ type: "ready", worker: entry }));
    entry.readyTimer = setTimeout(
      () => this.#dispatch({ type: "ready-timeout", worker: entry }),
      this.#options.readyTimeout,
    );
    return entry;
  }

  /** Marks `entry` ready or failed; `false` when it already was (the first answer counts). */
  settle(entry: Entry, ready: boolean): boolean {
    if (entry.settled) return false;
    entry.settled = true;
    clearTimeout(entry.readyTimer);
    if (ready) {
      entry.readyAt = performance.now();
      entry.readySince = Date.now();
    }
    return true;
  }

  /** Takes an exited worker off the table. */
  remove(entry: Entry): void {
    entry.exited = true;
    this.#live.delete(entry);
    clearTimeout(entry.killTimer);
  }

  /**
   * SIGTERM, then SIGKILL if it outlives `--stop-timeout` (a `kill-timeout` event). Once per
   * worker: one already draining is left to finish (only a second signal to the supervisor
   * forces workers, through {@linkcode forward}).
   */
  terminate(entry: Entry): void {
    if (entry.told || entry.exited) return;
    entry.told = true;
    entry.handle.kill("SIGTERM");
    entry.killTimer = setTimeout(
      () => this.#dispatch({ type: "kill-timeout", worker: entry }),
      this.#options.stopTimeout,
    );
  }

  /** Every live worker gets `SIGTERM` (again). */
  terminateAll(): void {
    for (const entry of this.#live) this.terminate(entry);
  }

  /** A second stop signal: every live worker gets another `SIGTERM`, which forces its drain. */
  forward(): void {
    for (const entry of this.#live) entry.handle.kill("SIGTERM");
  }

  /** `--stop-timeout` ran out for `entry`. */
  kill(entry: Entry): void {
    if (entry.exited) return;
    this.#log({
      event: "worker-killed",
      level: "warn",
      worker: entry.handle,
      msg: `${one(entry.handle)} still running ${this.#options.stopTimeout} ms after ` +
        `SIGTERM (--stop-timeout): SIGKILL`,
    });
    entry.handle.kill("SIGKILL");
  }
}
