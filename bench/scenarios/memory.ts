/**
 * Memory: resident set size of the server process with `count` idle keep-alive connections
 * (each has completed one request), lameduck vs the bare runtime server, interleaved. The
 * clients run in a separate Node process (bench/idle_clients.ts).
 *
 * @module
 */

import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import {
  commandOf,
  rssKiB,
  type Runtime,
  sleep,
  spawnChild,
  startServer,
  stopServer,
} from "../proc.ts";
import { rotate } from "../stats.ts";
import { runWrk, wrkArgs } from "../wrk.ts";

/** Settings of the memory scenario. */
export interface MemoryConfig {
  rounds: number;
  runtimes: readonly Runtime[];
  /** Idle connections to hold. */
  count: number;
  /** Wait after the last response before reading RSS. */
  settleMs: number;
}

/** One memory run. */
export interface MemoryRun {
  /** RSS after a 1 s warm-up with wrk, before the connections. */
  idleKiB: number;
  /** RSS with the connections open. */
  loadedKiB: number;
  /** Connections still open right after the reading. */
  open: number;
  /** Connects or requests that failed. */
  failed: number;
  /** Time the clients took to connect and complete their request. */
  clientsMs: number;
}

/** The raw results: `runs["bun/lameduck"]` holds one run per round. */
export interface MemoryResults {
  runs: Record<string, MemoryRun[]>;
  commands: Record<string, string>;
  clientCommand: string;
  config: MemoryConfig;
}

const VARIANTS = [
  { id: "bare", script: "bench/servers/bare.ts" },
  { id: "lameduck", script: "bench/servers/lameduck.ts" },
] as const;

/** Reads JSON lines from a child's stdout, one at a time. */
function jsonLines(child: ChildProcess): (timeoutMs: number) => Promise<Record<string, number>> {
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  createInterface({ input: child.stdout! }).on("line", (line) => {
    queue.push(line);
    wake?.();
  });
  return async (timeoutMs) => {
    const deadline = performance.now() + timeoutMs;
    while (queue.length === 0) {
      if (child.exitCode !== null) throw new Error("The client process exited early");
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`No line from the client process within ${timeoutMs} ms`);
      await Promise.race([new Promise<void>((r) => (wake = r)), sleep(Math.min(left, 500))]);
    }
    return JSON.parse(queue.shift()!) as Record<string, number>;
  };
}

async function memoryOnce(
  runtime: Runtime,
  script: string,
  config: MemoryConfig,
  wrk: string,
): Promise<MemoryRun> {
  const server = await startServer(runtime, script);
  let client: ChildProcess | undefined;
  try {
    await runWrk(wrk, wrkArgs(server.port, "/", 1, 50));
    await sleep(500);
    const idleKiB = rssKiB(server.pid);
    const argv = commandOf("node", "bench/idle_clients.ts");
    client = spawnChild([...argv, String(server.port), String(config.count)], {}, "pipe");
    const next = jsonLines(client);
    const done = await next(120_000);
    await sleep(config.settleMs);
    const loadedKiB = rssKiB(server.pid);
    client.stdin!.write("count\n");
    const { open } = await next(10_000);
    return {
      idleKiB,
      loadedKiB,
      open: open ?? NaN,
      failed: done.failed ?? NaN,
      clientsMs: done.ms ?? NaN,
    };
  } finally {
    client?.stdin?.end();
    if (client && client.exitCode === null) {
      await Promise.race([new Promise((r) => client!.once("exit", r)), sleep(5_000)]);
      client.kill("SIGKILL");
    }
    await stopServer(server);
  }
}

/** Runs the memory scenario. */
export async function runMemory(
  config: MemoryConfig,
  wrk: string,
  progress: (line: string) => void,
): Promise<MemoryResults> {
  const runs: Record<string, MemoryRun[]> = {};
  const commands: Record<string, string> = {};
  for (const runtime of config.runtimes) {
    for (const v of VARIANTS) {
      runs[`${runtime}/${v.id}`] = [];
      commands[`${runtime}/${v.id}`] = commandOf(runtime, v.script).join(" ");
    }
  }
  for (let round = 0; round < config.rounds; round++) {
    for (const runtime of config.runtimes) {
      for (const v of rotate(VARIANTS, round)) {
        const id = `${runtime}/${v.id}`;
        try {
          const run = await memoryOnce(runtime, v.script, config, wrk);
          runs[id]!.push(run);
          progress(
            `memory round ${round + 1}: ${id} ${Math.round(run.idleKiB / 1024)} → ` +
              `${Math.round(run.loadedKiB / 1024)} MiB with ${run.open} open, ${run.failed} ` +
              `failed (clients took ${run.clientsMs} ms)`,
          );
        } catch (error) {
          progress(`memory round ${round + 1}: ${id} failed: ${error}`);
          const failed = { idleKiB: NaN, loadedKiB: NaN, open: NaN, failed: NaN, clientsMs: NaN };
          runs[id]!.push(failed); // Keeps the rounds paired.
        }
      }
    }
  }
  const clientCommand = `${
    commandOf("node", "bench/idle_clients.ts").join(" ")
  } $PORT ${config.count}`;
  return { runs, commands, clientCommand, config };
}
