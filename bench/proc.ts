/**
 * Child processes for the benchmarks: a server program on one runtime (waiting for its
 * `listening <port>` line), its resident memory, signals and exit. Every child is spawned
 * through `sh` with the open-file limit raised to the hard limit, and SIGKILLed if the driver
 * exits first.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The three runtimes. */
export type Runtime = "deno" | "bun" | "node";
/** Every runtime, in report order. */
export const RUNTIMES: readonly Runtime[] = ["deno", "bun", "node"];

/** The repository root. */
export const ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Milliseconds on the driver's monotonic clock. */
export const now = (): number => performance.now();
/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The command line (relative to the repository root) that runs `script` on `runtime`. */
export function commandOf(runtime: Runtime, script: string, flags: string[] = []): string[] {
  const bin = `node_modules/.bin/${runtime}`;
  return runtime === "deno" ? [bin, "run", "-A", ...flags, script] : [bin, ...flags, script];
}

/**
 * Nanoseconds of CPU a process has used so far, all its threads together (Linux
 * `/proc/<pid>/task/<tid>/schedstat`). Unlike requests per second, CPU per request hardly
 * moves when other processes compete for the cores.
 */
export function cpuNanos(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // The thread ended in between.
    }
  }
  return total;
}

/** How a child ended. */
export interface Exit {
  code: number | null;
  signal: string | null;
  /** Driver clock at `exit`. */
  at: number;
}

const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** Spawns `argv` from the repository root with a raised `ulimit -n`. */
export function spawnChild(
  argv: string[],
  env: Record<string, string> = {},
  stdin: "ignore" | "pipe" = "ignore",
): ChildProcess {
  const raise = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"';
  const child = spawn("sh", ["-c", raise, ...argv], {
    cwd: ROOT,
    env: { ...process.env, ...env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    stdio: [stdin, "pipe", "pipe"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** A running server. */
export interface Server {
  pid: number;
  port: number;
  /** The command that started it, for RESULTS.md. */
  command: string;
  exited: Promise<Exit>;
  /** Sends `signal`; returns the driver clock just before. */
  kill(signal: NodeJS.Signals): number;
  /** The tail of its stderr. */
  stderr(): string;
}

/**
 * Starts `script` on `runtime` and resolves once it printed `listening <port>`; rejects (after
 * SIGKILLing it) if it exits first or takes longer than `timeoutMs`.
 */
export function startServer(
  runtime: Runtime,
  script: string,
  options: { env?: Record<string, string>; flags?: string[]; timeoutMs?: number } = {},
): Promise<Server> {
  const argv = commandOf(runtime, script, options.flags);
  const child = spawnChild(argv, options.env);
  const envText = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v} `).join("");
  const command = envText + argv.join(" ");
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => (stderr = (stderr + s).slice(-4000)));
  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal, at: now() }));
  });
  const kill = (signal: NodeJS.Signals): number => {
    const at = now();
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return at;
  };
  return new Promise<Server>((resolve, reject) => {
    const timer = setTimeout(() => {
      kill("SIGKILL");
      reject(new Error(`${command}: no listening line within ${options.timeoutMs ?? 20_000} ms`));
    }, options.timeoutMs ?? 20_000);
    exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`${command}: exited (${e.code ?? e.signal}) early\n${stderr}`));
    });
    let out = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (s: string) => {
      out += s;
      const match = /listening (\d+)/.exec(out);
      if (!match) return;
      clearTimeout(timer);
      out = "";
      child.stdout!.resume();
      resolve({
        pid: child.pid!,
        port: Number(match[1]),
        command,
        exited,
        kill,
        stderr: () => stderr,
      });
    });
  });
}

/** Ends `server`: SIGTERM, then SIGKILL after `graceMs`. Resolves when it is gone. */
export async function stopServer(server: Server, graceMs = 3_000): Promise<Exit> {
  server.kill("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
  const first = await Promise.race([server.exited, late]);
  clearTimeout(timer);
  if (first === undefined) server.kill("SIGKILL");
  return server.exited;
}

/** CPU time `pid` has used so far, in µs (all threads; {@linkcode cpuNanos}); `NaN` if it is gone. */
export function processCpuUs(pid: number): number {
  try {
    return cpuNanos(pid) / 1000;
  } catch {
    return NaN;
  }
}

/** Resident set size of `pid` in KiB, from `/proc` (Linux); `NaN` if it is gone. */
export function rssKiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** The 1-, 5- and 15-minute load averages (Linux). */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = readFileSync("/proc/loadavg", "utf8").split(" ").map(Number);
  return [a ?? NaN, b ?? NaN, c ?? NaN];
}

/** The installed version of npm package `name` (its package.json under node_modules/). */
export function packageVersion(name: string): string {
  const file = join(ROOT, "node_modules", name, "package.json");
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}

/** `name version` of each package, for RESULTS.md. */
export function packageVersions(names: readonly string[]): string {
  return names.map((n) => `${n} ${packageVersion(n)}`).join(", ");
}

/** `--version` of a runtime's pinned binary, first line. */
export async function versionOf(runtime: Runtime): Promise<string> {
  const child = spawnChild([`node_modules/.bin/${runtime}`, "--version"]);
  let out = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (s: string) => (out += s));
  await new Promise((r) => child.once("exit", r));
  return out.split("\n")[0]!.trim();
}

/** CPU time so far, in clock ticks (USER_HZ, 100 on Linux): the machine's and this process tree's. */
export interface CpuTicks {
  /** user + nice + system over all CPUs (`/proc/stat`). */
  busy: number;
  /** Time stolen by the hypervisor over all CPUs. */
  steal: number;
  /** This process and its reaped children (utime, stime, cutime, cstime). */
  own: number;
  /** Driver clock. */
  at: number;
}

/** Reads {@linkcode CpuTicks} (Linux). */
export function cpuTicks(): CpuTicks {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).map(Number);
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  // Fields after the command, from state (field 3): utime (14) is at index 11 … cstime (17) at 14.
  const own = fields[11]! + fields[12]! + fields[13]! + fields[14]!;
  return { busy: cpu[1]! + cpu[2]! + cpu[3]!, steal: cpu[8] ?? 0, own, at: now() };
}

/**
 * Cores other processes kept busy between two readings, on average (approximate: interrupt
 * time and children still running are not counted), and cores stolen by the hypervisor.
 */
export function othersBetween(a: CpuTicks, b: CpuTicks): { others: number; steal: number } {
  const ticks = ((b.at - a.at) / 1000) * 100;
  return {
    others: Math.max(0, (b.busy - a.busy - (b.own - a.own)) / ticks),
    steal: (b.steal - a.steal) / ticks,
  };
}
