/**
 * What the environment hands a served process, read once and removed so a child process of the
 * server does not take it too: an inherited socket (`LISTEN_FDS`, systemd's protocol and
 * `lameduck run --handover fd`), `lameduck run`'s notice channel (`LAMEDUCK_NOTIFY`) and
 * `reuseport` address (`LAMEDUCK_HANDOVER`, `LAMEDUCK_HOST`, `LAMEDUCK_PORT`), the worker's id
 * and log format (`LAMEDUCK_WORKER_ID`, `LAMEDUCK_LOG`), and systemd's `NOTIFY_SOCKET` (kept:
 * `systemd-notify` needs it).
 *
 * @module
 */

import type { Platform } from "../core/signals.ts";
import { inheritedFd } from "./activation.ts";

/** systemd's socket-activation variables, which `lameduck run --handover fd` also sets. */
export const SOCKET_VARIABLES: readonly string[] = ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"];

/** `lameduck run`'s notice channel: a unix socket path and the worker's token. */
export const NOTIFY_VARIABLE = "LAMEDUCK_NOTIFY";

/** The address `lameduck run --handover reuseport` hands a worker to bind. */
export const REUSEPORT_VARIABLES: readonly string[] = [
  "LAMEDUCK_HANDOVER",
  "LAMEDUCK_HOST",
  "LAMEDUCK_PORT",
];

/** The worker's id under `lameduck run` (its serial number), which its log lines name. */
export const WORKER_ID_VARIABLE = "LAMEDUCK_WORKER_ID";

/** `json`: `serve()`'s default `logger` is `"json"` (`lameduck run --log json` sets it). */
export const LOG_VARIABLE = "LAMEDUCK_LOG";

/** The variables taken (and removed) by {@linkcode takeActivation}. */
export const ACTIVATION_VARIABLES: readonly string[] = [
  ...SOCKET_VARIABLES,
  NOTIFY_VARIABLE,
  ...REUSEPORT_VARIABLES,
  WORKER_ID_VARIABLE,
  LOG_VARIABLE,
];

/** What this process was handed. */
export interface Activation {
  /** An inherited listening socket to adopt. */
  fd: number | undefined;
  /** `lameduck run`'s notice channel (a unix socket path). */
  notifyPath: string | undefined;
  /** systemd's notification socket. */
  systemd: string | undefined;
  /** `lameduck run --handover reuseport`: bind this address with `SO_REUSEPORT`. */
  reusePort: { hostname: string; port: number } | undefined;
  /** The worker's id under `lameduck run`. */
  workerId: number | undefined;
  /** The default log format (`LAMEDUCK_LOG`). */
  log: "json" | "text" | undefined;
}

/**
 * Reads the activation variables and removes them.
 *
 * @throws {RangeError} When `LISTEN_FDS`, `lameduck run`'s address or worker id, or
 * `LAMEDUCK_LOG`, is malformed.
 */
export function takeActivation(platform: Platform): Activation {
  const env = platform.env;
  try {
    const fd = inheritedFd(env, platform.pid);
    const reusePort = fd === undefined && env("LAMEDUCK_HANDOVER") === "reuseport"
      ? reusePortAddress(env)
      : undefined;
    return {
      fd,
      notifyPath: env(NOTIFY_VARIABLE),
      systemd: env("NOTIFY_SOCKET"),
      reusePort,
      workerId: workerId(env(WORKER_ID_VARIABLE)),
      log: logFormat(env(LOG_VARIABLE)),
    };
  } finally {
    for (const name of ACTIVATION_VARIABLES) platform.unsetEnv(name);
  }
}

/** The variables `lameduck run` sets for a `reuseport` worker to bind `hostname:port`. */
export function reusePortVariables(hostname: string, port: number): Record<string, string> {
  return { LAMEDUCK_HANDOVER: "reuseport", LAMEDUCK_HOST: hostname, LAMEDUCK_PORT: `${port}` };
}

/**
 * The address `lameduck run` hands a `reuseport` worker (`LAMEDUCK_HOST`, `LAMEDUCK_PORT`).
 *
 * @throws {RangeError} When the supervisor's variables are not an address and a port.
 */
function reusePortAddress(
  env: (name: string) => string | undefined,
): { hostname: string; port: number } {
  const hostname = env("LAMEDUCK_HOST") ?? "";
  const text = env("LAMEDUCK_PORT") ?? "";
  const port = Number(text);
  if (hostname === "" || !/^[0-9]+$/.test(text) || port < 1 || port > 65_535) {
    throw new RangeError(
      `Invalid LAMEDUCK_HOST/LAMEDUCK_PORT from lameduck run: got "${hostname}" "${text}"`,
    );
  }
  return { hostname, port };
}

/** `LAMEDUCK_WORKER_ID`: a positive integer, or unset. */
function workerId(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(text)) {
    throw new RangeError(
      `Invalid ${WORKER_ID_VARIABLE} from lameduck run: expected a positive integer, got "${text}"`,
    );
  }
  return Number(text);
}

/** `LAMEDUCK_LOG`: `json`, `text`, or unset. */
function logFormat(text: string | undefined): "json" | "text" | undefined {
  if (text === undefined || text === "") return undefined;
  if (text !== "json" && text !== "text") {
    throw new RangeError(`Invalid ${LOG_VARIABLE}: expected json or text, got "${text}"`);
  }
  return text;
}
