/**
 * One run of the zero-downtime restart proof: `lameduck run` (with the given arguments) of the
 * worker on one runtime, 16 clients (8 opening a new connection per request, 8 keeping one
 * pooled keep-alive connection each; every 8th request slow) through N restarts, then SIGTERM.
 * `restart_test.ts` runs it in-process, or as a script inside a network namespace of its own
 * (`--handover reuseport` needs `net.ipv4.tcp_migrate_req`, which is per namespace):
 *
 *     node tests/supervisor/proof.ts '{"runtime":"bun","args":["--handover","reuseport"]}'
 *
 * prints the {@linkcode ProofResult} as one JSON line.
 *
 * @module
 */

import type { ChildProcess } from "node:child_process";
import process from "node:process";
import { binaryOf, type RuntimeName } from "../contract/runtimes.ts";
import { sleep, within } from "../shared/time.ts";
import { type Mode, type Outcome, startLoad } from "./load.ts";
import { LOOPBACK, supervise, type Supervisor as Running, WORKER } from "./spawn.ts";
export const SLOW_MS = 400;

/** The command that runs `worker` (default: worker.ts) on `runtime`. */
export function workerCommand(
  runtime: RuntimeName,
  denoFlags: string[] = [],
  worker: string = WORKER,
): string[] {
  return runtime === "deno"
    ? [binaryOf("deno"), "run", "-A", ...denoFlags, worker]
    : [binaryOf(runtime), worker];
}

/** A running `lameduck run`, with what its log said. */
export class Supervisor {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  port = 0;
  /** Each worker's PID and when it reported ready (test clock). */
  readonly ready: { pid: number; at: number }[] = [];
  /** When each replaced worker was told to drain (test clock), by PID. */
  readonly replacedAt = new Map<number, number>();
  restartsDone = 0;
  readonly problems: string[] = [];
  #waiters: (() => void)[] = [];
  #run: Running;

  constructor(command: string[], env: Record<string, string> = {}, args: string[] = []) {
    const onLine = (line: string) => this.#onLine(line);
    this.#run = supervise([...LOOPBACK, ...args], { env, onLine }, command);
    this.child = this.#run.child;
    this.exited = this.#run.exited;
  }

  /** The supervisor's log so far. */
  get log(): string {
    return this.#run.log();
  }

  #onLine(line: string): void {
    const socket = / socket 127\.0\.0\.1:(\d+) /.exec(line);
    if (socket) this.port = Number(socket[1]);
    const ready = /worker \d+ \(pid (\d+)\) ready after/.exec(line);
    if (ready) this.ready.push({ pid: Number(ready[1]), at: performance.now() });
    const replaced = /worker \d+ \(pid (\d+)\) replaced by worker \d+/.exec(line);
    if (replaced) this.replacedAt.set(Number(replaced[1]), performance.now());
    if (/restart done/.test(line)) this.restartsDone++;
    if (/restart failed|unexpectedly|cannot|SIGKILL/.test(line)) this.problems.push(line);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Resolves once `predicate` holds (checked after every log line). */
  async until(predicate: () => boolean, what: string, ms = 20_000): Promise<void> {
    const check = async () => {
      while (!predicate()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    };
    await within(check(), ms, `${what}\nsupervisor log:\n${this.log}`);
  }
}

/** What to prove. */
export interface ProofParams {
  runtime: RuntimeName;
  /** `lameduck run` options (`--handover`, `--workers`). */
  args?: string[];
  /** Extra `deno run` flags (`--unstable-net` for `reuseport`). */
  denoFlags?: string[];
  restarts?: number;
  /** Extra environment for the supervisor and its workers. */
  env?: Record<string, string>;
  /** The worker program (an absolute path); default worker.ts. */
  worker?: string;
}

/** What happened. */
export interface ProofResult {
  requests: number;
  /** Failed requests per client kind. */
  failed: Record<Mode, number>;
  /** The first few failures, for the assertion message. */
  failures: Outcome[];
  restartsDone: number;
  /** How many workers reported ready, and how many of them served a request. */
  workersReady: number;
  workersServed: number;
  /** PIDs of ready workers that served nothing. */
  idle: number[];
  /** Per replaced worker: its slow requests in flight when it was told to drain that completed. */
  spanning: number[];
  problems: string[];
  exitCode: number | null;
  log: string;
}

/** Runs one proof; never throws for a failed request (the caller asserts on the result). */
export async function runProof(params: ProofParams): Promise<ProofResult> {
  const { runtime, args = [], denoFlags = [], restarts = 10, env = {}, worker } = params;
  const sup = new Supervisor(workerCommand(runtime, denoFlags, worker), env, args);
  try {
    const workers = Number(/--workers[= ](\d+)/.exec(args.join(" "))?.[1] ?? "1");
    await sup.until(() => sup.ready.length === workers, "the first workers to be ready");
    const kinds: Mode[] = ["new connection per request", "pooled keep-alive"];
    const loads = kinds.map((mode) => startLoad(sup.port, 8, mode, SLOW_MS));
    await sleep(300);
    for (let i = 1; i <= restarts; i++) {
      sup.child.kill("SIGHUP");
      await sup.until(
        () => sup.restartsDone === i || sup.problems.length > 0,
        `restart ${i}`,
        30_000,
      );
      if (sup.problems.length > 0) break;
      await sleep(150);
    }
    await sleep(300);
    await Promise.all(loads.map((load) => load.stop()));
    sup.child.kill("SIGTERM");
    const exitCode = await within(sup.exited, 20_000, "the supervisor to exit");
    const outcomes = loads.flatMap((load) => load.outcomes);
    const served = new Set(outcomes.flatMap((o) => (o.pid ? [o.pid] : [])));
    const spanning = [...sup.replacedAt].map(([pid, at]) =>
      outcomes.filter((o) => o.slow && o.pid === pid && o.startedAt < at && o.endedAt > at)
        .length
    );
    return {
      requests: outcomes.length,
      failed: {
        "new connection per request": loads[0]!.outcomes.filter((o) => o.error).length,
        "pooled keep-alive": loads[1]!.outcomes.filter((o) => o.error).length,
      },
      failures: outcomes.filter((o) => o.error).slice(0, 5),
      restartsDone: sup.restartsDone,
      workersReady: sup.ready.length,
      workersServed: sup.ready.filter(({ pid }) => served.has(pid)).length,
      idle: sup.ready.filter(({ pid }) => !served.has(pid)).map(({ pid }) => pid),
      spanning,
      problems: sup.problems,
      exitCode,
      log: sup.log,
    };
  } finally {
    sup.child.kill("SIGKILL");
  }
}

if (process.argv[1]?.endsWith("proof.ts")) {
  const result = await runProof(JSON.parse(process.argv[2] ?? "{}") as ProofParams);
  console.log(JSON.stringify(result));
}
