/**
 * P5: runs bench/core_cost.ts on each runtime and collects its JSON.
 *
 * @module
 */

import { commandOf, type Runtime, spawnChild } from "../proc.ts";

/** What bench/core_cost.ts printed on one runtime. */
export interface CoreCost {
  runtime: Runtime;
  iterations: number;
  samples: number;
  targetMs: number;
  labels: Record<string, string>;
  /** Per variant, one ns/request figure per sample. */
  nsPerRequest: Record<string, number[]>;
}

/** The raw results, per runtime. */
export interface CoreResults {
  runs: Partial<Record<Runtime, CoreCost>>;
  commands: Record<string, string>;
}

function runOn(runtime: Runtime, quick: boolean): Promise<CoreCost> {
  const argv = [...commandOf(runtime, "bench/core_cost.ts"), ...(quick ? ["--quick"] : [])];
  const child = spawnChild(argv);
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (s: string) => (out += s));
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => (err = (err + s).slice(-2000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || !line.startsWith("{")) {
        reject(new Error(`${argv.join(" ")} failed (${code}):\n${err}`));
      } else resolve(JSON.parse(line) as CoreCost);
    });
  });
}

/** Runs P5 on every runtime, one after the other. */
export async function runCore(
  runtimes: readonly Runtime[],
  quick: boolean,
  progress: (line: string) => void,
): Promise<CoreResults> {
  const runs: Partial<Record<Runtime, CoreCost>> = {};
  const commands: Record<string, string> = {};
  for (const runtime of runtimes) {
    commands[runtime] = commandOf(runtime, "bench/core_cost.ts").join(" ");
    try {
      runs[runtime] = await runOn(runtime, quick);
      progress(`P5: ${runtime} done (${runs[runtime]!.iterations} iterations per batch)`);
    } catch (error) {
      progress(`P5: ${runtime} failed: ${error}`);
    }
  }
  return { runs, commands };
}
