/**
 * `lameduck run`: keeps one listening socket and a stable PID while worker generations come
 * and go. A restart starts the next worker, waits until it is ready, then sends the old one
 * SIGTERM so it drains; both accept from the same socket meanwhile, so no connection is
 * refused and none waits on a listener that is going away.
 *
 * @module
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { RunOptions } from "./args.ts";
import { sdNotify } from "../adapters/systemd.ts";
import { inheritedFd } from "../core/activation.ts";
import { adoptSocket, bindSocket } from "./socket.ts";
import { Worker, type WorkerExit } from "./worker.ts";

const log = (message: string) => console.error(`lameduck run: ${message}`);

/** Tells systemd (`Type=notify-reload`), when it is listening. */
const systemd = process.env.NOTIFY_SOCKET
  ? (fields: string[]) => sdNotify(fields)
  : (_fields: string[]) => {};

/** `CLOCK_MONOTONIC` in microseconds, as `RELOADING=1` wants it (libuv's hrtime is that clock). */
const monotonicUsec = () => String(process.hrtime.bigint() / 1000n);

function since(start: number): string {
  return `${Math.round(performance.now() - start)} ms`;
}

/** Describes a worker's end for the log. */
function ended(worker: Worker, exit: WorkerExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exited ${exit.code}`;
  const report = worker.report;
  const drained = report
    ? `, drained ${report.completed} requests (${report.aborted} aborted, ` +
      `${report.graceful ? "graceful" : "forced"})`
    : "";
  return `worker ${worker.generation} (pid ${worker.pid}) ${how}${drained}`;
}

/** Waits for `worker` to report ready; rejects with the reason it did not. */
async function readiness(worker: Worker, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not ready after ${timeoutMs} ms`)), timeoutMs);
  });
  const died = worker.exited.then((exit) => {
    throw new Error(`${exit.signal ? `killed by ${exit.signal}` : `exited ${exit.code}`} first`);
  });
  try {
    await Promise.race([worker.ready, timeout, died]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the supervisor until it is told to stop; resolves with the exit code to use. */
export async function supervise(options: RunOptions): Promise<number> {
  // Started by a systemd socket unit: use its socket, as serve() would.
  const fd = inheritedFd((name) => process.env[name], process.pid);
  for (const name of ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"]) delete process.env[name];
  const socket = fd === undefined ? bindSocket(options.host, options.port) : adoptSocket(fd);
  const dir = mkdtempSync(join(tmpdir(), "lameduck-run-"));
  log(`pid ${process.pid}, socket ${socket.host}:${socket.port} (fd ${socket.fd})`);
  let generation = 0;
  let current: Worker | undefined;
  let starting: Promise<Worker> | undefined;
  let newest: Worker | undefined;
  let stopping = false;
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));

  const start = async (): Promise<Worker> => {
    const worker = new Worker(++generation, options.command, socket.fd, dir);
    newest = worker;
    log(`worker ${worker.generation} started (pid ${worker.pid})`);
    try {
      await readiness(worker, options.readyTimeout);
    } catch (error) {
      worker.kill("SIGTERM");
      throw new Error(`worker ${worker.generation} ${(error as Error).message}`);
    }
    log(`worker ${worker.generation} (pid ${worker.pid}) ready after ${since(worker.startedAt)}`);
    return worker;
  };

  /** Watches the serving worker: if it ends by itself, so does the supervisor. */
  const adopt = (worker: Worker) => {
    current = worker;
    void worker.exited.then((exit) => {
      if (current !== worker) return;
      log(`${ended(worker, exit)}${stopping ? "" : " unexpectedly"}; stopping`);
      finish(exit.code);
    });
  };

  const restart = async (signal: string) => {
    if (stopping) return;
    if (starting) return log(`${signal}: a restart is already in progress; ignored`);
    if (!current) return log(`${signal}: the first worker is not ready yet; ignored`);
    const old = current!;
    log(`${signal}: restarting (worker ${old.generation} keeps serving until the next is ready)`);
    systemd(["RELOADING=1", `MONOTONIC_USEC=${monotonicUsec()}`, "STATUS=restarting"]);
    const restartedAt = performance.now();
    try {
      const next = await (starting = start()).finally(() => (starting = undefined));
      if (stopping) return next.kill("SIGTERM");
      adopt(next);
      systemd(["READY=1", `STATUS=worker ${next.generation} serving`]);
      old.kill("SIGTERM");
      const exit = await old.exited;
      log(`${ended(old, exit)}; restart done in ${since(restartedAt)}`);
    } catch (error) {
      log(`restart failed: ${(error as Error).message}; worker ${old.generation} keeps serving`);
      systemd(["READY=1", `STATUS=restart failed; worker ${old.generation} serving`]);
    }
  };

  const stop = (signal: string) => {
    if (stopping) {
      log(`${signal} again: forwarding it, the worker forces its shutdown`);
    } else {
      log(`${signal}: draining worker ${current?.generation} and exiting`);
    }
    if (!stopping) systemd(["STOPPING=1", "STATUS=draining"]);
    stopping = true;
    current?.kill("SIGTERM");
    if (newest !== current) newest?.kill("SIGTERM");
  };

  // Installed before the first worker starts: a signal that arrived between its "ready" line
  // and these listeners got the default action (SIGHUP, SIGUSR2: the supervisor died, its
  // workers, in their own process group, lived on). Regression: tests/supervisor/signals_test.ts.
  const handlers: [NodeJS.Signals, () => void][] = [
    ["SIGHUP", () => void restart("SIGHUP")],
    ["SIGUSR2", () => void restart("SIGUSR2")],
    ["SIGTERM", () => stop("SIGTERM")],
    ["SIGINT", () => stop("SIGINT")],
  ];
  for (const [signal, handler] of handlers) process.on(signal, handler);
  try {
    adopt(await start());
    systemd(["READY=1", `STATUS=worker ${generation} serving`]);
  } catch (error) {
    const why = stopping
      ? "stopped before serving"
      : "giving up (is the command right, the port free?)";
    log(`${(error as Error).message}; ${why}`);
    for (const [signal, handler] of handlers) process.off(signal, handler);
    rmSync(dir, { recursive: true, force: true });
    socket.close();
    return 1;
  }
  const code = await finished;
  for (const [signal, handler] of handlers) process.off(signal, handler);
  rmSync(dir, { recursive: true, force: true });
  socket.close();
  return code;
}
