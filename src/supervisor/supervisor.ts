/**
 * `lameduck run`: keeps one port and a stable PID while N workers come and go. A restart
 * replaces the workers one at a time: the next one starts, and once it is ready an old one gets
 * SIGTERM and drains, so never fewer than N are ready. With `fd` hand-over every worker accepts
 * from the supervisor's one socket; with `reuseport` each binds the port itself and the kernel
 * moves connections queued on a closing listener to the others (`net.ipv4.tcp_migrate_req`).
 *
 * One {@linkcode Supervisor} owns the state: signals, worker readiness and exits, and timeouts
 * arrive as events through one method, over a named {@linkcode SupervisorState}; "one restart
 * at a time" is the `restarting` state. Everything about the process comes through
 * {@linkcode System}, so tests run the supervisor in-process with fakes.
 *
 * @module
 */

import type { RunOptions } from "./args.ts";
import {
  ended,
  exitedLine,
  forcedLine,
  formatLine,
  how,
  ignoredLine,
  type Line,
  lostLine,
  monotonicUsec,
  named,
  notReady,
  one,
  readyLine,
  restartFailedLine,
  restartLine,
  stopLine,
} from "./lines.ts";
import { type Setup, setUp } from "./startup.ts";
import { realSystem, type System } from "./system.ts";
import { WorkerPool } from "./pool.ts";
import { Restart } from "./restart.ts";
import { Slots } from "./slots.ts";
import { type StatusAnswer, statusAnswer } from "./status.ts";
import type { Entry, Event, RestartOutcome, Slot, SupervisorState, WorkerStatus } from "./state.ts";
import type { WorkerExit, WorkerHandle } from "./worker.ts";

export type { RestartOutcome, SupervisorState, WorkerState, WorkerStatus } from "./state.ts";

const SIGNALS: NodeJS.Signals[] = ["SIGHUP", "SIGUSR2", "SIGTERM", "SIGINT"];

/**
 * Runs `lameduck run` until it is told to stop. Its `state`, `workers` (the table of workers
 * not yet exited) and `lastRestart` can be read at any time; it does not report them itself.
 */
export class Supervisor {
  #options: RunOptions;
  #system: System;
  #state: SupervisorState = "starting";
  #slots = new Slots(0);
  #first: Entry[] = [];
  #pool!: WorkerPool;
  #restart: Restart | undefined;
  #lastRestart: RestartOutcome | undefined;
  /** The first generation will not serve (one failed, or a stop came first): exit once it is gone. */
  #givingUp = false;
  #exitCode = 0;
  #setup!: Setup;
  #off: (() => void)[] = [];
  #finish: ((code: number) => void) | undefined;

  constructor(options: RunOptions, system: System = realSystem()) {
    this.#options = options;
    this.#system = system;
  }

  /** The supervisor's state. */
  get state(): SupervisorState {
    return this.#state;
  }

  /** Every worker not yet exited, in the order they started. */
  get workers(): WorkerStatus[] {
    return this.#pool?.rows() ?? [];
  }

  /** How the last restart ended (`undefined` before the first one ends). */
  get lastRestart(): RestartOutcome | undefined {
    return this.#lastRestart;
  }

  /** What `lameduck status` answers. */
  status(): StatusAnswer {
    const { mode, socket } = this.#setup;
    const { pid } = this.#system;
    return statusAnswer(pid, this.#state, mode, socket, this.workers, this.#lastRestart);
  }

  /** Answers `lameduck status` until the supervisor exits; a failure is one warning line. */
  #serveStatus(): () => void {
    const warn = (why: string) =>
      this.#log({ event: "status-failed", level: "warn", msg: `lameduck status: ${why}` });
    try {
      return this.#system.serveStatus(() => this.status(), warn);
    } catch (error) {
      warn(`will not answer: ${(error as Error).message}`);
      return () => {};
    }
  }

  /** Checks and claims what it needs, starts the workers; resolves with the exit code. */
  run(): Promise<number> {
    const setup = setUp(this.#options, this.#system, this.#log);
    if (typeof setup === "number") return Promise.resolve(setup);
    this.#setup = setup;
    this.#pool = new WorkerPool(
      this.#options,
      this.#system,
      setup,
      this.#log,
      (event) => this.#dispatch(event),
    );
    this.#slots = new Slots(setup.count);
    const closeStatus = this.#serveStatus();
    this.#off.push(closeStatus);
    const done = new Promise<number>((resolve) => (this.#finish = resolve));
    // Listening before the first workers start: a signal that arrives while they start (or just
    // as they become ready) must not kill the supervisor by the default action and orphan them.
    this.#off.push(
      ...SIGNALS.map((signal) =>
        this.#system.onSignal(signal, () => this.#dispatch({ type: "signal", signal }))
      ),
    );
    this.#first = this.#slots.list.map((slot) => this.#pool.start(slot, "first"));
    return done;
  }

  /** The one place events arrive. */
  #dispatch(event: Event): void {
    switch (event.type) {
      case "signal":
        if (event.signal === "SIGHUP" || event.signal === "SIGUSR2") this.#restartOn(event.signal);
        else this.#stop(event.signal);
        break;
      case "ready":
        this.#onReady(event.worker);
        break;
      case "ready-timeout":
        this.#onFailed(event.worker, notReady(event.worker.handle, this.#options.readyTimeout));
        break;
      case "exit":
        this.#onExit(event.worker, event.exit);
        break;
      case "kill-timeout":
        this.#pool.kill(event.worker);
        break;
      case "backoff":
        event.slot.timer = undefined;
        if (this.#state !== "stopping" && !event.slot.worker) {
          this.#pool.start(event.slot, "replace");
        }
        break;
    }
    this.#finishIfDone();
  }

  #log = (line: Line): void =>
    this.#system.log(formatLine(line, this.#options.log, this.#system.pid, Date.now()));

  #onReady(entry: Entry): void {
    if (!this.#pool.settle(entry, true)) return;
    this.#log(readyLine(entry.handle));
    const slot = entry.slot;
    if (entry.purpose === "first") this.#firstSettled();
    else if (entry.purpose === "replace") {
      if (this.#state === "stopping" || slot.worker) this.#pool.terminate(entry);
      else slot.worker = entry;
    } else {
      const restart = this.#restart!;
      if (this.#state === "stopping") {
        this.#pool.terminate(entry);
        return this.#restartEnded(restart);
      }
      restart.take(entry);
      this.#restartNext(restart);
    }
  }

  /** A worker that did not get ready: stopped, and what it was started for fails. */
  #onFailed(entry: Entry, reason: string): void {
    if (!this.#pool.settle(entry, false)) return;
    this.#pool.terminate(entry);
    const failure = `${one(entry.handle)} ${reason}`;
    if (entry.purpose === "first") {
      entry.failure = failure;
      this.#firstSettled();
    } else if (entry.purpose === "replace") {
      this.#replaceLater(entry.slot, entry.handle, `replacement failed: ${failure}`);
    } else this.#restartEnded(this.#restart!, failure);
  }

  #onExit(entry: Entry, exit: WorkerExit): void {
    this.#pool.remove(entry);
    const slot = entry.slot;
    if (slot.worker === entry) {
      this.#slots.died(entry);
      if (this.#state === "stopping") {
        if (exit.code !== 0 && this.#exitCode === 0) this.#exitCode = exit.code;
        this.#log(exitedLine(entry.handle, exit));
      } else this.#replaceLater(slot, entry.handle, `${ended(entry.handle, exit)} unexpectedly`);
    }
    const restart = entry.drainOf;
    if (restart) {
      restart.drained(entry, exit);
      this.#restartDone(restart);
    }
    if (!entry.settled) this.#onFailed(entry, `${how(exit)} first`);
  }

  /** Once every worker of the first generation is ready or failed: serve, or give up. */
  #firstSettled(): void {
    if (!this.#first.every((e) => e.settled)) return;
    const failed = this.#first.find((e) => e.failure !== undefined);
    if (failed || this.#state === "stopping") {
      for (const e of this.#first) if (e.failure === undefined) this.#pool.terminate(e);
      if (this.#state === "stopping") {
        this.#log({ event: "stopped", msg: "stopped before it was ready" });
      } else {
        this.#log({
          event: "giving-up",
          level: "error",
          worker: failed!.handle,
          msg: `${failed!.failure}; giving up`,
        });
      }
      this.#givingUp = true;
      return;
    }
    this.#first.forEach((e) => (e.slot.worker = e));
    // A worker that died between its READY and now.
    for (const slot of this.#slots.list) {
      const entry = slot.worker!;
      if (entry.exited) {
        slot.worker = undefined;
        this.#replaceLater(slot, entry.handle, `${one(entry.handle)} exited unexpectedly`);
      }
    }
    this.#state = "serving";
    this.#system.systemd(["READY=1", `STATUS=${named(this.#slots.serving())} serving`]);
  }

  /** Replaces the dead `worker` of `slot` after a backoff that doubles per death in a row. */
  #replaceLater(slot: Slot, worker: WorkerHandle, why: string): void {
    const delay = this.#slots.backoff(slot);
    this.#log(lostLine(worker, this.#slots.serving(), why, delay));
    if (this.#state === "stopping") return; // the replacement would not start
    slot.timer = setTimeout(() => this.#dispatch({ type: "backoff", slot }), delay);
  }

  #restartOn(signal: string): void {
    if (this.#state === "stopping") return;
    if (this.#slots.serving().length === 0 && !this.#slots.pending()) {
      const first = this.#slots.list.length === 1 ? "the first worker is" : "the first workers are";
      return this.#log(ignoredLine(signal, `${first} not ready yet`));
    }
    if (this.#state === "restarting") {
      return this.#log(ignoredLine(signal, "a restart is already in progress"));
    }
    this.#state = "restarting";
    this.#log(restartLine(signal, this.#slots.serving()));
    this.#system.systemd(["RELOADING=1", `MONOTONIC_USEC=${monotonicUsec()}`, "STATUS=restarting"]);
    this.#restart = new Restart(signal, this.#slots.list, this.#pool, this.#log);
    this.#restartNext(this.#restart);
  }

  /** Starts the new worker of the restart's next slot, or ends the restart after the last. */
  #restartNext(restart: Restart): void {
    const slot = restart.next();
    if (slot === undefined) return this.#restartEnded(restart);
    this.#pool.start(slot, "restart");
  }

  #restartEnded(restart: Restart, failure?: string): void {
    this.#restart = undefined;
    if (this.#state === "stopping") {
      this.#lastRestart = restart.outcome("stopped");
      return;
    }
    this.#state = "serving";
    const serving = this.#slots.serving();
    if (failure !== undefined) {
      this.#log(restartFailedLine(restart.signal, failure, serving));
      this.#system.systemd(["READY=1", `STATUS=restart failed; ${named(serving)} serving`]);
      this.#lastRestart = restart.outcome("failed", failure);
      return;
    }
    this.#system.systemd(["READY=1", `STATUS=${named(serving)} serving`]);
    restart.replaced();
    this.#restartDone(restart);
  }

  #restartDone(restart: Restart): void {
    if (!restart.done) return;
    this.#log(restart.doneLine);
    this.#lastRestart = restart.outcome("done");
  }

  #stop(signal: string): void {
    if (this.#state === "stopping") {
      this.#log(forcedLine(signal, this.#pool.handles()));
      this.#pool.forward();
      return;
    }
    this.#state = "stopping";
    this.#log(stopLine(signal, this.#pool.handles(), this.#slots.serving()));
    this.#system.systemd(["STOPPING=1", "STATUS=draining"]);
    this.#slots.cancel();
    this.#pool.terminateAll();
  }

  /** Exits once no worker runs after a stop, or after the first generation failed. */
  #finishIfDone(): void {
    if (this.#pool.size > 0 || this.#finish === undefined) return;
    const stopping = this.#state === "stopping";
    if (!(stopping && this.#first.every((e) => e.settled)) && !this.#givingUp) return;
    const finish = this.#finish;
    this.#finish = undefined;
    for (const off of this.#off) off();
    this.#setup.release();
    finish(stopping ? this.#exitCode : 1);
  }
}

/** Runs the supervisor until it is told to stop; resolves with the exit code to use. */
export function supervise(options: RunOptions, system: System = realSystem()): Promise<number> {
  return new Supervisor(options, system).run();
}
