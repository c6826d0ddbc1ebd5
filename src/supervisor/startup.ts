/**
 * What `lameduck run` checks and claims before its first worker starts: the hand-over mode, a
 * Deno worker's flags, the notify directory, the pid file and the socket. Each refusal is one
 * log line and an exit code (2 for a setting, 1 for a socket that cannot be bound).
 *
 * @module
 */

import { inheritedFd } from "../process/activation.ts";
import { reusePortVariables, SOCKET_VARIABLES } from "../process/environment.ts";
import type { RunOptions } from "./args.ts";
import { denoWorkerProblem } from "./deno_worker.ts";
import { chooseHandover, MIGRATE_SYSCTL } from "./handover.ts";
import type { Log } from "./lines.ts";
import type { BoundSocket } from "./socket.ts";
import type { System } from "./system.ts";

/** What the workers are started with. */
export interface Setup {
  socket: BoundSocket;
  /** The notify sockets' directory. */
  dir: { path: string; remove(): void };
  /** How many workers serve. */
  count: number;
  /** Each worker binds the port itself (`reuseport`), rather than inheriting `socket`. */
  reuseport: boolean;
  /** The hand-over mode. */
  mode: "fd" | "reuseport";
  /** Variables added to each worker's environment. */
  env: Record<string, string>;
  /** Closes the socket, removes the directory and the pid file. */
  release(): void;
}

/** Checks and claims what the supervisor needs; the exit code when it cannot start. */
export function setUp(
  options: RunOptions,
  system: System,
  log: Log,
): Setup | number {
  const refuse = (msg: string) => log({ event: "refused", level: "error", msg });
  // Started by a systemd socket unit: use its socket, as serve() would.
  const fd = inheritedFd((name) => system.env[name], system.pid);
  for (const name of SOCKET_VARIABLES) delete system.env[name];
  const choice = chooseHandover(options, system.sysctl(MIGRATE_SYSCTL), fd !== undefined);
  if (choice.refused) {
    refuse(choice.refused);
    return 2;
  }
  // A `deno run` worker without the flags its mode needs would fail in ways hard to read.
  const problem = denoWorkerProblem(options.command, system.tmpdir(), choice.mode);
  if (problem !== undefined) {
    refuse(problem);
    return 2;
  }
  const reuseport = choice.mode === "reuseport";
  let dir: ReturnType<System["tempDir"]>;
  try {
    dir = system.tempDir();
  } catch (error) {
    refuse((error as Error).message);
    return 2;
  }
  const { pidFile } = options;
  if (pidFile !== undefined) {
    const refused = system.claimPidFile(pidFile);
    if (refused !== undefined) {
      refuse(refused);
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
    refuse(`${(error as Error).message}${inUse}; giving up`);
    dir.remove();
    if (pidFile !== undefined) system.releasePidFile(pidFile);
    return 1;
  }
  const count = options.workers === "auto" ? Math.max(1, system.cpus()) : options.workers;
  log({
    event: "start",
    msg: `pid ${system.pid}, socket ${socket.host}:${socket.port} (fd ${socket.fd}), ${count} ` +
      `worker${count === 1 ? "" : "s"}`,
    fields: { socket: { host: socket.host, port: socket.port, fd: socket.fd }, count },
  });
  log({ event: "handover", msg: choice.line, fields: { mode: choice.mode } });
  const env = reuseport ? reusePortVariables(socket.host, socket.port) : {};
  const release = () => {
    dir.remove();
    socket.close();
    if (pidFile !== undefined) system.releasePidFile(pidFile);
  };
  return { socket, dir, count, reuseport, env, release, mode: choice.mode };
}
