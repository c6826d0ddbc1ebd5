/**
 * The command line of `lameduck run`.
 *
 * @module
 */

/** What `lameduck run` was asked to do. */
export interface RunOptions {
  /** Port of the listening socket. */
  port: number;
  /** Address of the listening socket. */
  host: string;
  /** How long a new worker may take to report ready, in ms. */
  readyTimeout: number;
  /** The worker command and its arguments. */
  command: string[];
}

/** The usage text. */
export const USAGE = `Usage: lameduck run [--port N] [--host H] [--ready-timeout MS] -- <command...>

Binds the listening socket once and runs <command> as a worker that inherits it (fd 3,
LISTEN_FDS=1, LISTEN_PID). On SIGHUP or SIGUSR2 a new worker starts; once it is ready the old
one gets SIGTERM and drains. SIGTERM or SIGINT drains the worker and exits with its status.

Options:
  --port N             port to bind (default 8000; 0 picks a free one)
  --host H             address to bind (default 0.0.0.0)
  --ready-timeout MS   how long a new worker may take to report ready (default 10000)`;

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

/**
 * Parses the arguments after `run`.
 *
 * @throws {TypeError} For an unknown option, a missing value or a missing command.
 * @throws {RangeError} For a port or timeout out of range.
 */
export function parseRunArgs(args: readonly string[]): RunOptions {
  const list = [...args];
  const options: RunOptions = { port: 8000, host: "0.0.0.0", readyTimeout: 10_000, command: [] };
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
    } else if (name === "--ready-timeout") {
      [value, i] = valueOf(list, i, name);
      options.readyTimeout = integer("--ready-timeout", value, 1, 3_600_000);
    } else {
      throw new TypeError(`Unknown option ${JSON.stringify(arg)} (the command goes after --)`);
    }
  }
  if (options.command.length === 0) throw new TypeError("Missing the worker command after --");
  return options;
}
