/**
 * The preflight of a `deno run` worker: what its permission flags (and the `"unstable"` list of
 * the config file it reads) miss for `lameduck run`, said before anything starts, since such a
 * worker would fail in ways hard to read.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import {
  LOG_VARIABLE,
  NOTIFY_VARIABLE,
  REUSEPORT_VARIABLES,
  SOCKET_VARIABLES,
  WORKER_ID_VARIABLE,
} from "../process/environment.ts";
import type { Handover } from "./args.ts";
import { runtimeOf } from "./handover.ts";

/** The variables a Deno worker must be able to read under `lameduck run --handover fd`. */
const WORKER_ENV: readonly string[] = [...SOCKET_VARIABLES, NOTIFY_VARIABLE];

/** The variables a Deno worker must be able to read under `lameduck run --handover reuseport`. */
const REUSEPORT_WORKER_ENV: readonly string[] = [...REUSEPORT_VARIABLES, NOTIFY_VARIABLE];

/**
 * Read when permitted, unset otherwise (the worker then serves, but its log lines do not name
 * it and `--log json` does not reach it): suggested, never required.
 */
const OPTIONAL_ENV: readonly string[] = [WORKER_ID_VARIABLE, LOG_VARIABLE];

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
  const [, sub, ...rest] = command;
  if (runtimeOf(command) !== "deno" || sub !== "run") return undefined;
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
    `--allow-env=${
      [...variables, ...OPTIONAL_ENV].join(",")
    } --allow-read=${tmp} --allow-write=${tmp} ` +
    `(plus what the app itself needs)`;
}
