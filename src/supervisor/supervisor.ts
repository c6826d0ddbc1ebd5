/**
 * `lameduck run`: keeps one port and a stable PID while N workers come and go. A restart
 * replaces the workers one at a time: the next one starts, and once it is ready an old one gets
 * SIGTERM and drains, so never fewer than N are ready. With `fd` hand-over every worker accepts
 * from the supervisor's one socket; with `reuseport` each binds the port itself and the kernel
 * moves connections queued on a closing listener to the others (`net.ipv4.tcp_migrate_req`).
 *
 * Everything about the process (spawning workers, signals, the environment, the log, systemd,
 * the sysctl, the socket) comes through {@linkcode System}, so tests can run the supervisor
 * in-process with fakes.
 *
 * @module
 */

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import process from "node:process";
import { denoWorkerProblem, type Handover, type RunOptions } from "./args.ts";
import { sdNotify } from "../process/systemd.ts";
import { inheritedFd } from "../process/activation.ts";
import { keepStderrErrorsQuiet } from "../process/stderr.ts";
import { claimPidFile, releasePidFile } from "./pid_file.ts";
import { adoptSocket, bindSocket, type BoundSocket } from "./socket.ts";
import { Worker, type WorkerExit, type WorkerHandle, type WorkerSpec } from "./worker.ts";

/** The sysctl that makes `reuseport` hand-over lossless. */
export const MIGRATE_SYSCTL = "net.ipv4.tcp_migrate_req";

/** The first delay before replacing a worker that died; it doubles per failure in a row. */
export const BACKOFF_START_MS = 100;
/** The longest delay before replacing a worker that died. */
export const BACKOFF_MAX_MS = 10_000;
/** A worker that served this long before dying resets its slot's backoff. */
const BACKOFF_RESET_MS = 10_000;

/** The process around the supervisor. */
export interface System {
  /** The supervisor's environment (read, and `LISTEN_*` removed). */
  env: Record<string, string | undefined>;
  /** The supervisor's PID. */
  pid: number;
  /** Writes one log line. */
  log(line: string): void;
  /** Listens for `signal`; returns the function that stops listening. */
  onSignal(signal: NodeJS.Signals, handler: () => void): () => void;
  /** Starts a worker. */
  spawn(spec: WorkerSpec): WorkerHandle;
  /** Tells systemd, if it listens. */
  systemd(fields: string[]): void;
  /** A sysctl's value (`net.ipv4.tcp_migrate_req`), `undefined` when the kernel has none. */
  sysctl(name: string): string | undefined;
  /** The number of CPUs, for `--workers auto`. */
  cpus(): number;
  /** Binds the port (without listening); `reusePort` to share it with the workers. */
  bind(host: string, port: number, reusePort: boolean): BoundSocket;
  /** Takes over an inherited socket (systemd socket activation). */
  adopt(fd: number): BoundSocket;
  /**
   * A private directory for the workers' notification sockets, and its removal.
   *
   * @throws {Error} With a one-line message when it cannot hold them (the supervisor exits 2).
   */
  tempDir(): { path: string; remove(): void };
}

/** The longest unix socket path Linux takes (`sun_path` is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

/** The real process. */
export function realSystem(): System {
  // A log reader that went away (`lameduck run ... | head`) must not stop the supervisor.
  keepStderrErrorsQuiet();
  return {
    env: process.env,
    pid: process.pid,
    log: (line) => console.error(line),
    onSignal(signal, handler) {
      process.on(signal, handler);
      return () => process.off(signal, handler);
    },
    spawn: (spec) => new Worker(spec),
    systemd: process.env.NOTIFY_SOCKET ? (fields) => sdNotify(fields) : () => {},
    sysctl(name) {
      try {
        return readFileSync(`/proc/sys/${name.replaceAll(".", "/")}`, "utf8").trim();
      } catch {
        return undefined;
      }
    },
    cpus: () => availableParallelism(),
    bind: bindSocket,
    adopt: adoptSocket,
    tempDir() {
      const base = resolve(tmpdir());
      // The longest socket name: `worker-<generation>.sock`, a generation of 10 digits at most.
      const longest = join(base, "lameduck-run-XXXXXX", `worker-${"9".repeat(10)}.sock`);
      if (Buffer.byteLength(longest) > MAX_SOCKET_PATH) {
        throw new Error(
          `the temporary directory ${base} ($TMPDIR) is too long for the workers' unix ` +
            `sockets (${Buffer.byteLength(longest)} bytes, at most ${MAX_SOCKET_PATH}); set ` +
            `TMPDIR to a shorter path`,
        );
      }
      let path: string;
      try {
        path = mkdtempSync(join(base, "lameduck-run-"));
      } catch (error) {
        throw new Error(
          `cannot create the workers' socket directory in ${base} ($TMPDIR): ` +
            `${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; set TMPDIR ` +
            `to a writable directory`,
        );
      }
      return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
    },
  };
}

/** `CLOCK_MONOTONIC` in microseconds, as `RELOADING=1` wants it (libuv's hrtime is that clock). */
const monotonicUsec = () => String(process.hrtime.bigint() / 1000n);

function since(start: number): string {
  return `${Math.round(performance.now() - start)} ms`;
}

function how(exit: WorkerExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exited ${exit.code}`;
}

/** Describes a worker's end for the log. */
export function ended(worker: WorkerHandle, exit: WorkerExit): string {
  const report = worker.report;
  const drained = report
    ? `, drained ${report.completed} request${
      report.completed === 1 ? "" : "s"
    } (${report.aborted} aborted, ` +
      `${report.graceful ? "graceful" : "forced"})`
    : "";
  return `worker ${worker.generation} (pid ${worker.pid}) ${how(exit)}${drained}`;
}

/** "worker 3" or "workers 3, 4". */
function named(workers: WorkerHandle[]): string {
  if (workers.length === 0) return "no worker";
  const list = workers.map((w) => w.generation).join(", ");
  return workers.length === 1 ? `worker ${list}` : `workers ${list}`;
}

/** What the supervisor saw of a worker that did not report ready in time. */
function notReady(worker: WorkerHandle, timeoutMs: number): string {
  const seen = worker.connected
    ? "it connected to the notify socket but never sent READY=1: did its server start listening?"
    : "it never connected to the notify socket: does it call serve()? A Deno worker also " +
      "needs -A or the flags in docs/runtimes.md, Deno permissions";
  return `(pid ${worker.pid}) not ready after ${timeoutMs} ms (${seen})`;
}

/** Waits for `worker` to report ready; rejects with the reason it did not. */
async function readiness(worker: WorkerHandle, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(notReady(worker, timeoutMs))), timeoutMs);
  });
  const died = worker.exited.then((exit) => {
    throw new Error(`${how(exit)} first`);
  });
  try {
    await Promise.race([worker.ready, timeout, died]);
  } finally {
    clearTimeout(timer);
  }
}

/** What the hand-over decision says, or why it refuses. */
export interface HandoverChoice {
  mode: Handover;
  /** One line for the log: what and why. */
  line: string;
  /** Set when the supervisor must not start (exit 2). */
  refused?: string;
}

/** Guesses the worker's runtime from its program's name. */
export function runtimeOf(command: readonly string[]): "deno" | "bun" | "node" | undefined {
  const name = basename(command[0] ?? "");
  if (/^deno(\.exe)?$/.test(name)) return "deno";
  if (/^bun[x]?(\.exe)?$/.test(name)) return "bun";
  if (/^node(js)?(\.exe)?$/.test(name)) return "node";
  return undefined;
}

/**
 * Picks the hand-over mode. `auto`: `reuseport` for a Bun worker when the kernel migrates
 * queued connections (the native `Bun.serve` is faster than `node:http`), else `fd`, which
 * loses nothing on any kernel (Deno's `shutdown()` closes connections it accepted and has not
 * read, so `reuseport` loses some on Deno whatever the sysctl; Node serves natively either way).
 */
export function chooseHandover(
  options: Pick<RunOptions, "handover" | "force" | "command">,
  migrate: string | undefined,
  inherited: boolean,
): HandoverChoice {
  const sysctl = migrate === undefined
    ? `${MIGRATE_SYSCTL} is missing (Linux < 5.14)`
    : `${MIGRATE_SYSCTL}=${migrate}`;
  const fdLine = (why: string) =>
    `handover fd: every worker inherits one listening socket (${why}); nothing queued is lost`;
  if (inherited) {
    if (options.handover === "reuseport") {
      return {
        mode: "fd",
        line: "",
        refused: "--handover reuseport cannot share a socket passed by systemd; use fd",
      };
    }
    return { mode: "fd", line: fdLine("the socket comes from systemd") };
  }
  if (options.handover === "fd") return { mode: "fd", line: fdLine("--handover fd") };
  if (options.handover === "auto") {
    const runtime = runtimeOf(options.command);
    if (runtime === "bun" && migrate === "1") {
      return {
        mode: "reuseport",
        line: `handover reuseport (auto for a Bun worker): each worker binds the port with ` +
          `SO_REUSEPORT on Bun.serve; ${sysctl}, so connections queued on a closing worker's ` +
          `listener move to the others`,
      };
    }
    const why = runtime === "bun"
      ? `auto: reuseport would reset queued connections, ${sysctl}`
      : `auto for a ${runtime ?? "worker of unknown"} runtime`;
    return { mode: "fd", line: fdLine(why) };
  }
  if (migrate === "1") {
    return {
      mode: "reuseport",
      line: `handover reuseport: each worker binds the port with SO_REUSEPORT; ${sysctl}, so ` +
        `connections queued on a closing worker's listener move to the others`,
    };
  }
  const risk = `connections queued on each old worker's listener are reset when it closes`;
  if (options.force) {
    return {
      mode: "reuseport",
      line: `handover reuseport (--force): ${sysctl}: ${risk} (set ${MIGRATE_SYSCTL}=1)`,
    };
  }
  return {
    mode: "reuseport",
    line: "",
    refused: `--handover reuseport would lose connections here: ${sysctl}, so ${risk}. ` +
      `Set ${MIGRATE_SYSCTL}=1 (Linux >= 5.14), use --handover fd, or add --force`,
  };
}

/** One of the N places a worker serves in. */
interface Slot {
  index: number;
  worker: WorkerHandle | undefined;
  /** Deaths in a row, for the backoff. */
  failures: number;
  /** A pending replacement. */
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Runs the supervisor until it is told to stop; resolves with the exit code to use. */
export async function supervise(
  options: RunOptions,
  system: System = realSystem(),
): Promise<number> {
  const log = (message: string) => system.log(`lameduck run: ${message}`);
  // Started by a systemd socket unit: use its socket, as serve() would.
  const fd = inheritedFd((name) => system.env[name], system.pid);
  for (const name of ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"]) delete system.env[name];
  const choice = chooseHandover(options, system.sysctl(MIGRATE_SYSCTL), fd !== undefined);
  if (choice.refused) {
    log(choice.refused);
    return 2;
  }
  // A `deno run` worker without the flags its mode needs would fail in ways hard to read.
  const problem = denoWorkerProblem(options.command, tmpdir(), choice.mode);
  if (problem !== undefined) {
    log(problem);
    return 2;
  }
  const reuseport = choice.mode === "reuseport";
  let dir: ReturnType<System["tempDir"]>;
  try {
    dir = system.tempDir();
  } catch (error) {
    log((error as Error).message);
    return 2;
  }
  if (options.pidFile !== undefined) {
    const refused = claimPidFile(options.pidFile, system.pid);
    if (refused !== undefined) {
      log(refused);
      dir.remove();
      return 2;
    }
  }
  let socket: BoundSocket;
  try {
    socket = fd === undefined
      ? system.bind(options.host, options.port, reuseport)
      : system.adopt(fd);
  } catch (error) {
    const inUse = /EADDRINUSE/.test((error as Error).message)
      ? ` (port ${options.port} is in use by another process)`
      : "";
    log(`${(error as Error).message}${inUse}; giving up`);
    dir.remove();
    if (options.pidFile !== undefined) releasePidFile(options.pidFile, system.pid);
    return 1;
  }
  const count = options.workers === "auto" ? Math.max(1, system.cpus()) : options.workers;
  log(
    `pid ${system.pid}, socket ${socket.host}:${socket.port} (fd ${socket.fd}), ${count} ` +
      `worker${count === 1 ? "" : "s"}`,
  );
  log(choice.line);
  const workerEnv: Record<string, string> = reuseport
    ? {
      LAMEDUCK_HANDOVER: "reuseport",
      LAMEDUCK_HOST: socket.host,
      LAMEDUCK_PORT: `${socket.port}`,
    }
    : {};

  const slots: Slot[] = Array.from(
    { length: count },
    (_, index) => ({ index, worker: undefined, failures: 0, timer: undefined }),
  );
  /** Every worker not yet exited. */
  const live = new Set<WorkerHandle>();
  const readyAt = new WeakMap<WorkerHandle, number>();
  let generation = 0;
  let restarting = false;
  let stopping = false;
  let exitCode = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const serving = () => slots.flatMap((s) => (s.worker ? [s.worker] : []));

  /** Workers sent their SIGTERM: a second one would force their drain. */
  const told = new WeakSet<WorkerHandle>();
  /**
   * SIGTERM, then SIGKILL if it outlives `--stop-timeout`. Once per worker: one already
   * draining is left to finish (only a second signal to the supervisor forces workers).
   */
  const terminate = (worker: WorkerHandle): void => {
    if (told.has(worker)) return;
    told.add(worker);
    worker.kill("SIGTERM");
    const timer = setTimeout(() => {
      log(
        `worker ${worker.generation} (pid ${worker.pid}) still running ` +
          `${options.stopTimeout} ms after SIGTERM (--stop-timeout): SIGKILL`,
      );
      worker.kill("SIGKILL");
    }, options.stopTimeout);
    void worker.exited.then(() => clearTimeout(timer));
  };

  /** Starts a worker for `slot`; resolves once it is ready, else stops it and rejects. */
  const start = async (slot: Slot): Promise<WorkerHandle> => {
    const worker = system.spawn({
      generation: ++generation,
      command: options.command,
      fd: reuseport ? undefined : socket.fd,
      env: workerEnv,
      dir: dir.path,
      log,
    });
    live.add(worker);
    log(`worker ${worker.generation} started (pid ${worker.pid})`);
    void worker.exited.then((exit) => {
      live.delete(worker);
      onExit(slot, worker, exit);
    });
    try {
      await readiness(worker, options.readyTimeout);
    } catch (error) {
      terminate(worker);
      throw new Error(`worker ${worker.generation} ${(error as Error).message}`);
    }
    readyAt.set(worker, performance.now());
    log(`worker ${worker.generation} (pid ${worker.pid}) ready after ${since(worker.startedAt)}`);
    return worker;
  };

  const onExit = (slot: Slot, worker: WorkerHandle, exit: WorkerExit): void => {
    if (slot.worker === worker) {
      slot.worker = undefined;
      if (stopping) {
        if (exit.code !== 0 && exitCode === 0) exitCode = exit.code;
        log(ended(worker, exit));
      } else {
        const served = performance.now() - (readyAt.get(worker) ?? performance.now());
        if (served >= BACKOFF_RESET_MS) slot.failures = 0;
        replaceLater(slot, `${ended(worker, exit)} unexpectedly`);
      }
    }
    if (stopping && live.size === 0) finish();
  };

  /** Replaces the dead worker of `slot` after a backoff that doubles per death in a row. */
  const replaceLater = (slot: Slot, why: string): void => {
    const delay = Math.min(BACKOFF_START_MS * 2 ** slot.failures, BACKOFF_MAX_MS);
    slot.failures++;
    log(`${why}; replacing it in ${delay} ms (${named(serving())} serving)`);
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (stopping || slot.worker) return;
      start(slot).then((worker) => {
        if (stopping || slot.worker) return terminate(worker);
        slot.worker = worker;
      }, (error) => replaceLater(slot, `replacement failed: ${(error as Error).message}`));
    }, delay);
  };

  const restart = async (signal: string): Promise<void> => {
    if (stopping) return;
    if (serving().length === 0 && !slots.some((s) => s.timer)) {
      const first = slots.length === 1 ? "the first worker is" : "the first workers are";
      return log(`${signal}: ${first} not ready yet; ignored`);
    }
    if (restarting) return log(`${signal}: a restart is already in progress; ignored`);
    restarting = true;
    log(
      `${signal}: restarting ${named(serving())} one at a time (each serves until its ` +
        `replacement is ready)`,
    );
    system.systemd(["RELOADING=1", `MONOTONIC_USEC=${monotonicUsec()}`, "STATUS=restarting"]);
    const restartedAt = performance.now();
    const replaced: Promise<unknown>[] = [];
    let failure: string | undefined;
    for (const slot of slots) {
      if (stopping) break;
      const old = slot.worker;
      let next: WorkerHandle;
      try {
        next = await start(slot);
      } catch (error) {
        failure = (error as Error).message;
        break;
      }
      if (stopping || (slot.worker !== old && slot.worker !== undefined)) {
        // Stopping, or the slot's worker died meanwhile and was already replaced.
        terminate(next);
        if (stopping) break;
        continue;
      }
      // The new worker takes the slot; a pending replacement of a dead worker is not needed.
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = undefined;
      slot.worker = next;
      slot.failures = 0;
      if (old && live.has(old)) {
        log(
          `worker ${old.generation} (pid ${old.pid}) replaced by worker ${next.generation}: ` +
            `SIGTERM, it drains`,
        );
        terminate(old);
        replaced.push(old.exited.then((exit) => log(ended(old, exit))));
      }
    }
    restarting = false;
    if (stopping) return;
    if (failure !== undefined) {
      log(
        `restart failed: ${failure}; ${named(serving())} keep${
          serving().length === 1 ? "s" : ""
        } serving`,
      );
      system.systemd(["READY=1", `STATUS=restart failed; ${named(serving())} serving`]);
      return;
    }
    system.systemd(["READY=1", `STATUS=${named(serving())} serving`]);
    await Promise.all(replaced);
    log(`restart done in ${since(restartedAt)}`);
  };

  const stop = (signal: string): void => {
    if (stopping) {
      log(`${signal} again: forwarding it, the workers force their shutdown`);
      for (const worker of live) worker.kill("SIGTERM");
      return;
    }
    stopping = true;
    log(
      serving().length === 0
        ? `${signal}: stopping ${named([...live])} before ${
          live.size === 1 ? "it is" : "they are"
        } ready, and exiting`
        : `${signal}: draining ${named(serving())} and exiting`,
    );
    system.systemd(["STOPPING=1", "STATUS=draining"]);
    for (const slot of slots) if (slot.timer) clearTimeout(slot.timer);
    for (const worker of live) terminate(worker);
    if (live.size === 0) finish();
  };

  const cleanup = () => {
    dir.remove();
    socket.close();
    if (options.pidFile !== undefined) releasePidFile(options.pidFile, system.pid);
  };
  // Listening before the first workers start: a signal that arrives while they start (or just
  // as they become ready) must not kill the supervisor by the default action and orphan them.
  const handlers: [NodeJS.Signals, () => void][] = [
    ["SIGHUP", () => void restart("SIGHUP")],
    ["SIGUSR2", () => void restart("SIGUSR2")],
    ["SIGTERM", () => stop("SIGTERM")],
    ["SIGINT", () => stop("SIGINT")],
  ];
  const off = handlers.map(([signal, handler]) => system.onSignal(signal, handler));
  const first = await Promise.allSettled(slots.map((slot) => start(slot)));
  const failed = first.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed || stopping) {
    for (const r of first) if (r.status === "fulfilled") terminate(r.value);
    if (stopping) log("stopped before it was ready");
    else {
      log(`${(failed!.reason as Error).message}; giving up`);
    }
    await Promise.all([...live].map((w) => w.exited));
    for (const remove of off) remove();
    cleanup();
    return stopping ? exitCode : 1;
  }
  first.forEach((r, i) => {
    if (r.status === "fulfilled") slots[i]!.worker = r.value;
  });
  // A worker that died between its READY and now.
  for (const slot of slots) {
    if (slot.worker && !live.has(slot.worker)) {
      const worker = slot.worker;
      slot.worker = undefined;
      replaceLater(slot, `worker ${worker.generation} (pid ${worker.pid}) exited unexpectedly`);
    }
  }
  system.systemd(["READY=1", `STATUS=${named(serving())} serving`]);
  await finished;
  for (const remove of off) remove();
  cleanup();
  return exitCode;
}
