/**
 * Everything `lameduck run` needs of its own process, behind one interface, so the supervisor
 * runs in-process with fakes in tests (as cloudflare/tableflip injects its OS).
 *
 * @module
 */

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { keepStderrErrorsQuiet } from "../process/stderr.ts";
import { sdNotify } from "../process/systemd.ts";
import { claimPidFile, releasePidFile } from "./pid_file.ts";
import { adoptSocket, bindSocket, type BoundSocket } from "./socket.ts";
import { statusPaths } from "./status.ts";
import { listenStatus } from "./status_socket.ts";
import { Worker, type WorkerHandle, type WorkerSpec } from "./worker.ts";

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
  /** The temporary directory (`$TMPDIR`), named in a Deno worker's suggested flags. */
  tmpdir(): string;
  /**
   * Writes the supervisor's PID to `path` (`--pid-file`).
   *
   * @returns Why it refused (a running process holds it, or it cannot be written).
   */
  claimPidFile(path: string): string | undefined;
  /** Removes `path` if it still holds the supervisor's PID. */
  releasePidFile(path: string): void;
  /**
   * Answers `lameduck status` with `answer()` on the supervisor's private status socket
   * (`status_socket.ts`); later failures go to `onError`.
   *
   * @throws {Error} When the socket's directory is not private to this user.
   * @returns Stops answering and removes the socket.
   */
  serveStatus(answer: () => unknown, onError: (message: string) => void): () => void;
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
    spawn: (spec) => new Worker(spec, process.env),
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
    tmpdir,
    claimPidFile: (path) => claimPidFile(path, process.pid),
    releasePidFile: (path) => releasePidFile(path, process.pid),
    serveStatus(answer, onError) {
      const { dir, path } = statusPaths(resolve(tmpdir()), process.getuid!(), process.pid);
      return listenStatus(dir, path, answer, onError);
    },
  };
}
