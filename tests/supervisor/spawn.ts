/**
 * Starts `lameduck run` as a real process for the supervisor tests, through one argument list:
 * {@linkcode supervise} for a supervisor the test talks to (its log read as it comes, waits on
 * log lines, a cleanup that ends only the PIDs it logged), {@linkcode lameduck} for a command
 * line run to its end (its exit code, stdout and stderr).
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { binaryOf, ROOT } from "../contract/runtimes.ts";
import { sleep, within } from "../shared/time.ts";

export const CLI: string = join(ROOT, "src", "supervisor", "cli.ts");
export const WORKER: string = join(ROOT, "tests", "supervisor", "worker.ts");

/** `--port 0 --host 127.0.0.1`: a free port on the loopback address. */
export const LOOPBACK: readonly string[] = ["--port", "0", "--host", "127.0.0.1"];

/** The Node test worker. */
export const nodeWorker = (): string[] => [binaryOf("node"), WORKER];

/** How to start `lameduck`. */
export interface Launch {
  /** Added to the test's environment. */
  env?: Record<string, string>;
  /** A process group of its own, as a shell gives a foreground job. */
  detached?: boolean;
  /** Runs the supervisor through this command, which execs its arguments (`unshare -n sh ...`). */
  wrap?: string[];
  /** Descriptors the supervisor inherits as fd 3, 4, ... (a socket unit's socket). */
  fds?: number[];
  /** Called with each line of the log as it comes. */
  onLine?: (line: string) => void;
}

/** The argument list of `lameduck run <args> -- <command>` (after the Node binary). */
export function runArgs(args: readonly string[], command: readonly string[]): string[] {
  return [CLI, "run", ...args, "--", ...command];
}

/** Spawns Node on `cliArgs` (`[CLI, ...]`), through `launch.wrap` if given. */
function start(cliArgs: string[], launch: Launch, stdout: "ignore" | "pipe"): ChildProcess {
  const argv = [...(launch.wrap ?? []), binaryOf("node"), ...cliArgs];
  return spawn(argv[0]!, argv.slice(1), {
    env: { ...process.env, ...launch.env },
    stdio: ["ignore", stdout, "pipe", ...(launch.fds ?? [])],
    detached: launch.detached ?? false,
  });
}

/** A running `lameduck run`. */
export interface Supervisor {
  child: ChildProcess;
  /** Resolves with the supervisor's exit code (`null` when killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves with the supervisor's exit code and the signal that killed it, if any. */
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  log(): string;
  /** Resolves with the first match of `pattern` once the log holds `count` of them. */
  until(pattern: RegExp, what: string, ms?: number, count?: number): Promise<RegExpExecArray>;
  /** SIGKILLs the supervisor and every worker it logged, if still running (cleanup only). */
  kill(): void;
}

/**
 * Starts `lameduck run <args> -- <command>` (default: the Node test worker). The log is
 * collected from stderr.
 */
export function supervise(
  args: readonly string[],
  launch: Launch = {},
  command: readonly string[] = nodeWorker(),
): Supervisor {
  const child = start(runArgs(args, command), launch, "ignore");
  let log = "";
  let pending = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (text: string) => {
    log += text;
    if (!launch.onLine) return;
    const lines = (pending + text).split("\n");
    pending = lines.pop()!;
    for (const line of lines) launch.onLine(line);
  });
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal }))
  );
  const exited = ended.then(({ code }) => code);
  const until = (pattern: RegExp, what: string, ms = 15_000, count = 1) => {
    const all = new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : "g");
    let over = false;
    const poll = async () => {
      // Stops once `within` gave up, so a failed wait does not keep the test process alive.
      while (!over && (log.match(all) ?? []).length < count) await sleep(25);
      return new RegExp(pattern.source, pattern.flags.replace("g", "")).exec(log)!;
    };
    return within(poll(), ms, `${what}\nsupervisor log:\n${log}`).finally(() => (over = true));
  };
  const kill = () => {
    const pids = [child.pid!, ...[...log.matchAll(/started \(pid (\d+)\)/g)].map((m) => +m[1]!)];
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    // A worker outliving the test would hold the pipe open and keep the runner alive.
    child.stderr!.destroy();
  };
  return { child, exited, ended, log: () => log, until, kill };
}

/** A command line run to its end. */
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `lameduck <argv>` (for `run`, build `argv` with {@linkcode runArgs} minus the CLI, or
 * pass it whole) to its end, within `ms`; a supervisor still running then gets SIGTERM, and
 * SIGKILL 2 s later.
 */
export async function lameduck(argv: string[], launch: Launch = {}, ms = 15_000): Promise<Run> {
  const child = start([CLI, ...argv], launch, "pipe");
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk));
  const done = new Promise<Run>((resolve) =>
    child.once("close", (code) => resolve({ code, stdout, stderr }))
  );
  try {
    return await within(done, ms, `lameduck ${argv.join(" ")}\nstderr:\n${stderr}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await sleep(2_000);
      child.kill("SIGKILL");
    }
  }
}

/** Whether process `pid` still runs (a zombie, exited and not yet reaped, does not). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Resolves once process `pid` has exited; rejects after `ms`. */
export function gone(pid: number, ms: number, what: string): Promise<void> {
  const poll = async () => {
    while (running(pid)) await sleep(50);
  };
  return within(poll(), ms, what);
}

/** The PID a test worker answers `GET /` with. */
export async function servedBy(port: number): Promise<number> {
  return Number((await (await fetch(`http://127.0.0.1:${port}/`)).text()).trim());
}
