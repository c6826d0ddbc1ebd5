/**
 * One worker of `lameduck run`: a child process that inherits the listening socket as fd 3
 * (`LISTEN_FDS=1`, `LISTEN_PID` = its own PID), or in `reuseport` hand-over binds the port
 * itself (`LAMEDUCK_HANDOVER=reuseport`, `LAMEDUCK_HOST`, `LAMEDUCK_PORT`), and reports over a
 * unix socket of its own (`LAMEDUCK_NOTIFY`), in `sd_notify` form, on a connection that opens
 * with the token only this worker was given (see `notice.ts`).
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { constants } from "node:os";
import { join } from "node:path";
import { NOTIFY_VARIABLE } from "../process/environment.ts";
import { formatAddress, MAX_NOTICE_LINE, parseNotice, tokenLine } from "../process/notice.ts";
import { type Log, one } from "./lines.ts";

/** How a worker ended. */
export interface WorkerExit {
  /** The exit code, or `128 + n` when killed by signal `n`. */
  code: number;
  /** The signal that killed it, if any. */
  signal: NodeJS.Signals | null;
}

/** A worker's last `STATUS=closed ...` line, parsed. */
export interface WorkerReport {
  graceful: boolean;
  completed: number;
  aborted: number;
}

/** What to start. */
export interface WorkerSpec {
  /** The worker's serial number, for the log. */
  generation: number;
  /** The command and its arguments. */
  command: readonly string[];
  /** The listening socket to pass as fd 3 (`fd` hand-over). */
  fd?: number | undefined;
  /** Variables to add to the supervisor's environment. */
  env: Record<string, string>;
  /** A private directory for the notification socket. */
  dir: string;
  /** Writes one line to the supervisor's log. */
  log: Log;
}

/** What the supervisor needs of a started worker (an in-process test can fake it). */
export interface WorkerHandle {
  readonly generation: number;
  readonly startedAt: number;
  /** Resolves once the worker sends `READY=1`. */
  readonly ready: Promise<void>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<WorkerExit>;
  /** The worker's shutdown report, once it sent one. */
  readonly report: WorkerReport | undefined;
  /** Its PID (`undefined` if it could not start). */
  readonly pid: number | undefined;
  /** Whether it connected to its notify socket (it called `serve()`), when known. */
  readonly connected?: boolean;
  /** Sends `signal` unless the worker has exited. */
  kill(signal: NodeJS.Signals): void;
}

/** A started worker. */
export class Worker implements WorkerHandle {
  readonly generation: number;
  readonly startedAt: number = performance.now();
  readonly child: ChildProcess;
  /** Resolves once the worker sends `READY=1`. */
  readonly ready: Promise<void>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<WorkerExit>;
  /** Whether the worker connected to its notify socket (it called `serve()`). */
  connected = false;
  /** The worker's shutdown report, once it sent one. */
  report: WorkerReport | undefined;
  #notify: Server;

  /**
   * Starts `spec.command`, with the socket `spec.fd` as its fd 3 if given. The command runs
   * through `/bin/sh` only to learn its PID before `exec` (`LISTEN_PID=$$`), as systemd sets it
   * after `fork`.
   *
   * @param base The environment the worker's variables are added to (the supervisor's).
   */
  constructor(spec: WorkerSpec, base: Record<string, string | undefined>) {
    const { generation, command, fd, dir, log } = spec;
    this.generation = generation;
    const path = join(dir, `worker-${generation}.sock`);
    const token = randomBytes(16).toString("hex");
    let onReady!: () => void;
    this.ready = new Promise((resolve) => (onReady = resolve));
    this.#notify = createServer((connection) => this.#read(connection, token, log, onReady));
    this.#notify.on("error", (error) => {
      // The supervisor checks its notify directory before it starts a worker; this is a
      // last resort, so a worker that could never report ready does not run unsupervised.
      log({
        event: "notify-failed",
        level: "error",
        worker: this,
        msg: `${one(this)}: cannot listen on its notify socket ${path}: ${error.message}`,
      });
      this.kill("SIGKILL");
    });
    this.#notify.listen(path);
    const inherit = fd === undefined ? { args: ['exec "$@"'], stdio: [] as number[], env: {} } : {
      args: ['LISTEN_PID=$$; export LISTEN_PID; exec "$@"'],
      stdio: [fd],
      env: { LISTEN_FDS: "1" },
    };
    this.child = spawn(
      "/bin/sh",
      ["-c", ...inherit.args, "lameduck-worker", ...command],
      {
        stdio: ["inherit", "inherit", "inherit", ...inherit.stdio],
        // NOTIFY_SOCKET is the supervisor's: systemd's main process is the supervisor.
        env: {
          ...base,
          NOTIFY_SOCKET: undefined,
          ...inherit.env,
          ...spec.env,
          [NOTIFY_VARIABLE]: formatAddress({ path, token }),
        },
        // Its own process group: a terminal's Ctrl-C reaches the supervisor only, which then
        // drains the worker with one SIGTERM (a second signal would force it).
        detached: true,
      },
    );
    this.exited = new Promise((resolve) => {
      this.child.once("error", (error) => {
        log({
          event: "spawn-failed",
          level: "error",
          worker: this,
          msg: `cannot start worker ${generation}: ${error.message}`,
        });
        resolve({ code: 127, signal: null });
      });
      this.child.once("exit", (code, signal) => {
        resolve({ code: code ?? 128 + (signal ? constants.signals[signal] : 0), signal });
      });
    });
    void this.exited.then(() => this.#notify.close());
  }

  /** The worker's PID (`undefined` if it could not start). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends `signal` unless the worker has exited. */
  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /**
   * Reads one connection to the notify socket: its first line must be this worker's token, or
   * the connection is dropped (logged); so is a line longer than {@linkcode MAX_NOTICE_LINE}.
   */
  #read(connection: Socket, token: string, log: Log, onReady: () => void) {
    const expected = tokenLine(token).slice(0, -1);
    let trusted = false;
    let buffered = "";
    const drop = (why: string) => {
      log({
        event: "notify-dropped",
        level: "warn",
        worker: this,
        msg: `${one(this)}: notify connection dropped: ${why}`,
      });
      connection.destroy();
    };
    connection.setEncoding("utf8");
    connection.on("data", (text: string) => {
      buffered += text;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        if (connection.destroyed) return;
        if (trusted) this.#onLine(line, onReady);
        else if (line === expected) {
          trusted = true;
          this.connected = true;
        } else return drop("it did not open with the worker's token");
      }
      if (buffered.length > MAX_NOTICE_LINE) {
        drop(`more than ${MAX_NOTICE_LINE} characters without a newline`);
      }
    });
    connection.on("error", () => {});
  }

  #onLine(line: string, onReady: () => void): void {
    const notice = parseNotice(line);
    if (notice?.type === "ready") onReady();
    if (notice?.type === "closed") {
      const { graceful, completed, aborted } = notice;
      this.report = { graceful, completed, aborted };
    }
  }
}
