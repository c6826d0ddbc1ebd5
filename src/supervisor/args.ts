/**
 * The command line of `lameduck run`.
 *
 * @module
 */

import { parseArgs } from "node:util";

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
  /** How the supervisor writes its lines (`--log`); `json` also sets its workers' default. */
  log: "text" | "json";
}

/** What `lameduck status` was asked. */
export interface StatusOptions {
  /** The supervisor's pid file; unset: `./lameduck.pid`. */
  pidFile: string | undefined;
  /** Print the answer as JSON. */
  json: boolean;
}

/** What the command line asks for. */
export type Invocation =
  | { kind: "run"; options: RunOptions }
  | { kind: "status"; options: StatusOptions }
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
                    [--stop-timeout MS] [--ready-timeout MS] [--pid-file PATH]
                    [--log text|json] [--force] -- <command...>
       lameduck status [--pid-file PATH] [--json]
       lameduck --help | --version

Runs <command> as N workers serving one port. On SIGHUP or SIGUSR2 the workers are replaced
one at a time: a new one starts, and once it is ready an old one gets SIGTERM and drains, so
never fewer than N are ready. A worker that dies is replaced with a growing backoff.
SIGTERM or SIGINT drains every worker and exits with their status. Run it as
./node_modules/.bin/lameduck (or exec it from a script), not through npx: npx does not
forward SIGHUP or SIGTERM and exits 130 on Ctrl-C whatever the supervisor's status.

lameduck status asks the running supervisor (only its own user can) for its workers (id,
pid, state, ready since), the hand-over mode and how the last restart went. Exit 0 when it
answers, 1 when no supervisor answers, 2 for bad usage.

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
  --log text|json      the supervisor's lines: text (default), or one JSON object per line
                       (pino's level, time, msg; worker: { id, pid }); json is also the workers'
                       default logger (LAMEDUCK_LOG=json)
  --force              run --handover reuseport even though tcp_migrate_req is not 1

Status options:
  --pid-file PATH      the supervisor's pid file (default ./lameduck.pid)
  --json               print the answer as one JSON object

  -h, --help           print this help and exit
  -v, -V, --version    print the version and exit`;

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
const VERSIONS = new Set(["--version", "-V", "-v", "version"]);

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
  if (command === "status") return { kind: "status", options: parseStatusArgs(rest) };
  if (command !== "run") throw new TypeError(`Unknown command ${JSON.stringify(command)}`);
  return { kind: "run", options: parseRunArgs(rest) };
}

/**
 * Parses the arguments after `status`: `--pid-file PATH` (or `=PATH`) and `--json`.
 *
 * @throws {TypeError} For an unknown option or argument, or a missing or empty path.
 */
export function parseStatusArgs(args: readonly string[]): StatusOptions {
  const options: StatusOptions = { pidFile: undefined, json: false };
  const { tokens } = parseArgs({
    args: [...args],
    options: { "pid-file": { type: "string" }, json: { type: "boolean" } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    const arg = args[token.index]!;
    if (token.kind !== "option" || (token.name !== "json" && token.name !== "pid-file")) {
      throw new TypeError(`Unknown argument ${JSON.stringify(arg)}`);
    }
    if (token.name === "json") {
      if (token.value !== undefined) throw new TypeError(`Unknown argument ${JSON.stringify(arg)}`);
      options.json = true;
    } else if (token.value === undefined) throw new TypeError("Missing value for --pid-file");
    else if (token.value === "") throw new TypeError(`Invalid --pid-file: expected a path, got ""`);
    else options.pidFile = token.value;
  }
  return options;
}

/**
 * `lameduck run`'s options for `node:util`'s `parseArgs`, which splits `--name value`,
 * `--name=value` and `--`. It runs with `strict: false` because strict mode refuses a value that
 * starts with a dash (`--port -1`), which this command reads as the value (and then names it in
 * the range error); the tokens it returns are checked below instead.
 */
const RUN_OPTIONS = {
  port: { type: "string" },
  host: { type: "string" },
  "ready-timeout": { type: "string" },
  "stop-timeout": { type: "string" },
  handover: { type: "string" },
  workers: { type: "string" },
  "pid-file": { type: "string" },
  log: { type: "string" },
  force: { type: "boolean" },
} as const;

type RunOption = keyof typeof RUN_OPTIONS;

const isRunOption = (name: string): name is RunOption => Object.hasOwn(RUN_OPTIONS, name);

/** Checks one option's value and sets it. */
function take(options: RunOptions, name: Exclude<RunOption, "force">, value: string): void {
  const flag = `--${name}`;
  if (name === "port") options.port = integer(flag, value, 0, 65_535);
  else if (name === "host") {
    if (value === "") throw new TypeError(`Invalid --host: expected an address, got ""`);
    options.host = value;
  } else if (name === "pid-file") {
    if (value === "") throw new TypeError(`Invalid --pid-file: expected a path, got ""`);
    options.pidFile = value;
  } else if (name === "log") {
    if (value !== "text" && value !== "json") {
      throw new RangeError(`Invalid --log: expected text or json, got "${value}"`);
    }
    options.log = value;
  } else if (name === "ready-timeout") options.readyTimeout = integer(flag, value, 1, 3_600_000);
  else if (name === "stop-timeout") options.stopTimeout = integer(flag, value, 1, 3_600_000);
  else if (name === "handover") {
    if (value !== "fd" && value !== "reuseport" && value !== "auto") {
      throw new RangeError(`Invalid --handover: expected fd, reuseport or auto, got "${value}"`);
    }
    options.handover = value;
  } else {
    if (
      value !== "auto" && !/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > 1024
    ) {
      throw new RangeError(
        `Invalid --workers: expected an integer from 1 to 1024 or auto, got "${value}"`,
      );
    }
    options.workers = value === "auto" ? "auto" : Number(value);
  }
}

/**
 * Parses the arguments after `run`: `--name value` or `--name=value`, then `--` and the worker
 * command.
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
    log: "text",
  };
  const { tokens } = parseArgs({
    args: list,
    options: RUN_OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind === "option-terminator") {
      options.command = list.slice(token.index + 1);
      break;
    }
    const arg = list[token.index]!;
    const unknown = new TypeError(
      `Unknown option ${JSON.stringify(arg)} (the command goes after --)`,
    );
    if (token.kind === "positional" || !isRunOption(token.name)) throw unknown;
    if (token.name === "force") {
      if (token.value !== undefined) throw unknown; // --force=...
      options.force = true;
      continue;
    }
    // `--port --`: the `--` ends the options, it is not a value.
    if (token.value === undefined || (token.value === "--" && !token.inlineValue)) {
      throw new TypeError(`Missing value for --${token.name}`);
    }
    take(options, token.name, token.value);
  }
  if (options.command.length === 0) throw new TypeError("Missing the worker command after --");
  return options;
}
