/**
 * Starts `lameduck run` as a real process for the supervisor's plumbing tests: its log read as
 * it comes, waits on log lines, the PIDs it logged, and a cleanup that ends only those.
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

/** A running `lameduck run`. */
export interface Supervisor {
  child: ChildProcess;
  /** Resolves with the supervisor's exit code (`null` when killed by a signal). */
  exited: Promise<number | null>;
  log(): string;
  /** Resolves with the first match of `pattern` in the log (past or future). */
  until(pattern: RegExp, what: string, ms?: number): Promise<RegExpExecArray>;
  /** SIGKILLs the supervisor and every worker it logged, if still running (cleanup only). */
  kill(): void;
}

/**
 * Starts `lameduck run <args> -- <command>` (default: the Node test worker), with `env` added
 * to the test's environment. The log is collected from stderr.
 */
export function supervise(
  args: string[],
  env: Record<string, string> = {},
  command: string[] = [binaryOf("node"), WORKER],
): Supervisor {
  const child = spawn(binaryOf("node"), [CLI, "run", ...args, "--", ...command], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (text: string) => (log += text));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const until = (pattern: RegExp, what: string, ms = 15_000) => {
    const poll = async () => {
      for (;;) {
        const match = pattern.exec(log);
        if (match) return match;
        await sleep(25);
      }
    };
    return within(poll(), ms, `${what}\nsupervisor log:\n${log}`);
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
    child.stderr!.destroy();
  };
  return { child, exited, log: () => log, until, kill };
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
