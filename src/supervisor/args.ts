/**
 * The command line of `lameduck run`.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import process from "node:process";

/** What `lameduck run` was asked to do. */
export interface RunOptions {
  /** Port of the listening socket. */
  port: number;
  /** Address of the listening socket. */
  host: string;
  /** How long a new worker may take to report ready, in ms. */
  readyTimeout: number;
  /** How long a worker may take to exit after `SIGTERM` before it gets `SIGKILL`, in ms. */
  stopTimeout: number;
  /**
   * How workers get the port: `fd` (inherit the supervisor's socket), `reuseport` (each binds
   * it with `SO_REUSEPORT`), or `auto` (chosen per worker runtime and kernel).
   */
  handover: Handover | "auto";
  /** How many workers serve the port (`auto`: one per CPU). */
  workers: number | "auto";
  /** Run `--handover reuseport` even where the kernel would reset queued connections. */
  force: boolean;
  /** The worker command and its arguments. */
  command: string[];
  /** Where to write the supervisor's PID (the one to send `SIGHUP` to), if anywhere. */
  pidFile?: string;
}

/** What the command line asks for. */
export type Invocation =
  | { kind: "run"; options: RunOptions }
  | { kind: "help"; text: string }
  | { kind: "version"; text: string };

/** The package version (kept equal to deno.json's by tests/unit/run_args_test.ts). */
export const VERSION = "0.1.0";

/** How a worker gets the listening port. */
export type Handover = "fd" | "reuseport";

/** `--stop-timeout`'s default: above serve()'s whole default budget (lame duck + drain + hook). */
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;

/** The usage text. */
export const USAGE =
  `Usage: lameduck run [--port N] [--host H] [--handover fd|reuseport] [--workers N|auto]
                    [--stop-timeout MS] [--ready-timeout MS] [--pid-file PATH] [--force]
                    -- <command...>
       lameduck --help | --version

Runs <command> as N workers serving one port. On SIGHUP or SIGUSR2 the workers are replaced
one at a time: a new one starts, and once it is ready an old one gets SIGTERM and drains, so
never fewer than N are ready. A worker that dies is replaced with a growing backoff.
SIGTERM or SIGINT drains every worker and exits with their status.

Options:
  --port N             port to bind (default 8000; 0 picks a free one)
  --host H             address or host name to bind (default 0.0.0.0; a name binds its first
                       address)
  --handover MODE      fd: the supervisor binds the socket once and every worker inherits it
                       (fd 3, LISTEN_FDS=1); any runtime, any kernel; Deno and Bun serve it
                       through node:http. reuseport: each worker binds the port itself with
                       SO_REUSEPORT on its native server (Deno needs --unstable-net); loses
                       nothing only with net.ipv4.tcp_migrate_req=1 (Linux >= 5.14).
                       Default: reuseport for a Bun worker when that sysctl is 1, else fd
  --workers N|auto     how many workers serve the port (default 1; auto: one per CPU)
  --stop-timeout MS    SIGKILL a worker still running this long after SIGTERM (default 30000)
  --ready-timeout MS   how long a new worker may take to report ready (default 10000)
  --pid-file PATH      write the supervisor's PID to PATH (send SIGHUP to that PID to restart)
  --force              run --handover reuseport even though tcp_migrate_req is not 1
  -h, --help           print this help and exit
  -V, --version        print the version and exit`;

/** Reads an option's value: `--name value` or `--name=value`. */
function valueOf(args: string[], i: number, name: string): [string, number] {
  const arg = args[i]!;
  if (arg.startsWith(`${name}=`)) return [arg.slice(name.length + 1), i];
  const next = args[i + 1];
  if (next === undefined || next === "--") throw new TypeError(`Missing value for ${name}`);
  return [next, i + 1];
}

function integer(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < min || n > max) {
    throw new RangeError(
      `Invalid ${name}: expected an integer from ${min} to ${max}, got "${text}"`,
    );
  }
  return n;
}

const HELP = new Set(["--help", "-h", "help"]);
const VERSIONS = new Set(["--version", "-V", "version"]);

/**
 * Reads the whole command line (after `lameduck`): `run ...`, help or version. Help or version
 * asked for anywhere before `--` wins over the rest.
 *
 * @throws {TypeError} For an unknown command, and as {@linkcode parseRunArgs} does.
 * @throws {RangeError} As {@linkcode parseRunArgs} does.
 */
export function parseCommandLine(args: readonly string[]): Invocation {
  const end = args.indexOf("--");
  const own = end === -1 ? args : args.slice(0, end);
  if (own.some((arg) => HELP.has(arg))) return { kind: "help", text: USAGE };
  if (own.some((arg) => VERSIONS.has(arg))) return { kind: "version", text: `lameduck ${VERSION}` };
  const [command, ...rest] = args;
  if (command === undefined) throw new TypeError("Missing the command (lameduck run ...)");
  if (command !== "run") throw new TypeError(`Unknown command ${JSON.stringify(command)}`);
  return { kind: "run", options: parseRunArgs(rest) };
}

/**
 * Parses the arguments after `run`.
 *
 * @throws {TypeError} For an unknown option, a missing value or a missing command.
 * @throws {RangeError} For a port, timeout, worker count or hand-over mode out of range.
 */
export function parseRunArgs(args: readonly string[]): RunOptions {
  const list = [...args];
  const options: RunOptions = {
    port: 8000,
    host: "0.0.0.0",
    readyTimeout: 10_000,
    stopTimeout: DEFAULT_STOP_TIMEOUT_MS,
    handover: "auto",
    workers: 1,
    force: false,
    command: [],
  };
  for (let i = 0; i < list.length; i++) {
    const arg = list[i]!;
    if (arg === "--") {
      options.command = list.slice(i + 1);
      break;
    }
    const name = arg.split("=")[0]!;
    let value: string;
    if (name === "--port") {
      [value, i] = valueOf(list, i, name);
      options.port = integer("--port", value, 0, 65_535);
    } else if (name === "--host") {
      [value, i] = valueOf(list, i, name);
      if (value === "") throw new TypeError(`Invalid --host: expected an address, got ""`);
      options.host = value;
    } else if (name === "--pid-file") {
      [value, i] = valueOf(list, i, name);
      if (value === "") throw new TypeError(`Invalid --pid-file: expected a path, got ""`);
      options.pidFile = value;
    } else if (name === "--ready-timeout") {
      [value, i] = valueOf(list, i, name);
      options.readyTimeout = integer("--ready-timeout", value, 1, 3_600_000);
    } else if (name === "--stop-timeout") {
      [value, i] = valueOf(list, i, name);
      options.stopTimeout = integer("--stop-timeout", value, 1, 3_600_000);
    } else if (name === "--handover") {
      [value, i] = valueOf(list, i, name);
      if (value !== "fd" && value !== "reuseport" && value !== "auto") {
        throw new RangeError(`Invalid --handover: expected fd, reuseport or auto, got "${value}"`);
      }
      options.handover = value;
    } else if (name === "--workers") {
      [value, i] = valueOf(list, i, name);
      if (
        value !== "auto" && !/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > 1024
      ) {
        throw new RangeError(
          `Invalid --workers: expected an integer from 1 to 1024 or auto, got "${value}"`,
        );
      }
      options.workers = value === "auto" ? "auto" : Number(value);
    } else if (arg === "--force") {
      options.force = true;
    } else {
      throw new TypeError(`Unknown option ${JSON.stringify(arg)} (the command goes after --)`);
    }
  }
  if (options.command.length === 0) throw new TypeError("Missing the worker command after --");
  return options;
}

/** The variables a Deno worker must be able to read under `lameduck run --handover fd`. */
export const WORKER_ENV = ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "LAMEDUCK_NOTIFY"];

/** The variables a Deno worker must be able to read under `lameduck run --handover reuseport`. */
export const REUSEPORT_WORKER_ENV = [
  "LAMEDUCK_HANDOVER",
  "LAMEDUCK_HOST",
  "LAMEDUCK_PORT",
  "LAMEDUCK_NOTIFY",
];

/** Deno flags that take their value as the next argument (so it is not the script). */
const DENO_VALUE_FLAGS = new Set(["-c", "--config", "--import-map", "--lock", "--cert"]);

/** Whether a `--allow-x` / `-X` flag (any spelling) is present; its list, if it has one. */
function granted(flags: readonly string[], long: string, short: string): string[] | "all" | null {
  let found: string[] | null = null;
  for (const flag of flags) {
    if (flag === long || flag === short) return "all";
    for (const prefix of [`${long}=`, `${short}=`]) {
      if (flag.startsWith(prefix)) {
        found = [...(found ?? []), ...flag.slice(prefix.length).split(",")];
      }
    }
  }
  return found;
}

/** Whether a Deno config file's text lists `net` among its unstable features. */
function configUnstableNet(path: string): boolean {
  try {
    return /"unstable"\s*:\s*\[[^\]]*"net"/.test(readFileSync(path, "utf8"));
  } catch {
    return false;
  }
}

/**
 * Whether the worker's Deno gets `--unstable-net`: the flag itself, or `"unstable": ["net"]` in
 * the config file it names (`-c`) or discovers (deno.json or deno.jsonc in the script's
 * directory or the working directory, or one of their parents; Deno 2.9 looks from the
 * script's).
 */
function unstableNet(flags: readonly string[], script: string | undefined, cwd: string): boolean {
  if (flags.includes("--unstable-net")) return true;
  const config = flags.findIndex((f) => f === "-c" || f === "--config");
  const named = config !== -1
    ? flags[config + 1]
    : flags.find((f) => /^(-c|--config)=/.test(f))?.replace(/^[^=]*=/, "");
  if (named !== undefined) return configUnstableNet(resolve(cwd, named));
  if (flags.includes("--no-config")) return false;
  const starts = [
    cwd,
    ...(script === undefined || /^[a-z]+:/i.test(script) ? [] : [
      dirname(resolve(cwd, script)),
    ]),
  ];
  for (const start of starts) {
    for (let dir = start;; dir = dirname(dir)) {
      if (["deno.json", "deno.jsonc"].some((name) => configUnstableNet(join(dir, name)))) {
        return true;
      }
      if (dirname(dir) === dir) break;
    }
  }
  return false;
}

/**
 * For a worker command run as `deno run ...`: what its flags miss for `lameduck run` in
 * `handover` mode (with `fd` the worker could not read `LISTEN_FDS`, so it would bind a port of
 * its own instead of the inherited socket; with `reuseport` it could not read the address to
 * bind, and without `--unstable-net` Deno ends the process (exit 70) at `reusePort`; in both it
 * could not report ready), or `undefined` when nothing is missing or the command is not
 * `deno run` (only the flags on the command line and the config files are known).
 *
 * @param tmp The directory of the supervisor's notify sockets, for the suggested flags.
 * @param handover The hand-over mode the supervisor chose.
 * @param cwd Where the worker starts (to find its config file).
 */
export function denoWorkerProblem(
  command: readonly string[],
  tmp: string,
  handover: Handover = "fd",
  cwd: string = process.cwd(),
): string | undefined {
  const [binary, sub, ...rest] = command;
  if (binary === undefined || !/(^|\/)deno(\.exe)?$/.test(binary) || sub !== "run") {
    return undefined;
  }
  const flags: string[] = [];
  let script: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (!arg.startsWith("-")) {
      script = arg; // what follows is the script's own arguments
      break;
    }
    flags.push(arg);
    if (DENO_VALUE_FLAGS.has(arg)) flags.push(rest[++i] ?? "");
  }
  const reuseport = handover === "reuseport";
  const variables = reuseport ? REUSEPORT_WORKER_ENV : WORKER_ENV;
  const missing: string[] = [];
  if (reuseport && !unstableNet(flags, script, cwd)) missing.push("--unstable-net");
  const all = flags.some((f) =>
    f === "-A" || f === "--allow-all" || /^(-P|--permission-set)/.test(f)
  );
  if (!all) {
    const env = granted(flags, "--allow-env", "-E");
    if (env !== "all") {
      const covers = (name: string) =>
        env?.some((item) =>
          item === name || (item.endsWith("*") && name.startsWith(item.slice(0, -1)))
        );
      const absent = variables.filter((name) => !covers(name));
      if (absent.length > 0) missing.push(`--allow-env for ${absent.join(", ")}`);
    }
    for (
      const [long, short] of [
        ["--allow-net", "-N"],
        ["--allow-read", "-R"],
        ["--allow-write", "-W"],
      ]
    ) {
      if (granted(flags, long!, short!) === null) missing.push(long!);
    }
  }
  if (missing.length === 0) return undefined;
  const unstable = reuseport ? "--unstable-net " : "";
  const cannot = reuseport
    ? "it could not bind the port with SO_REUSEPORT (Deno exits 70 at reusePort without " +
      "--unstable-net) or read the address to bind"
    : "it could not adopt the inherited socket (it would bind a port of its own)";
  return `the worker runs Deno without ${missing.join(", ")} (--handover ${handover}): ` +
    `${cannot} or report ready. Run it with ${unstable}-A, or with ${unstable}--allow-net ` +
    `--allow-env=${variables.join(",")} --allow-read=${tmp} --allow-write=${tmp} ` +
    `(plus what the app itself needs)`;
}
