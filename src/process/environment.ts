/**
 * What the environment hands a served process, read once and removed so a child process of the
 * server does not take it too: an inherited socket (`LISTEN_FDS`, systemd's protocol and
 * `lameduck run --handover fd`), `lameduck run`'s notice channel (`LAMEDUCK_NOTIFY`) and
 * `reuseport` address (`LAMEDUCK_HANDOVER`, `LAMEDUCK_HOST`, `LAMEDUCK_PORT`), and systemd's
 * `NOTIFY_SOCKET` (kept: `systemd-notify` needs it).
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

/** The variables taken (and removed) by {@linkcode takeActivation}. */
export const ACTIVATION_VARIABLES: readonly string[] = [
  ...SOCKET_VARIABLES,
  NOTIFY_VARIABLE,
  ...REUSEPORT_VARIABLES,
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
}

/**
 * Reads the activation variables and removes them.
 *
 * @throws {RangeError} When `LISTEN_FDS`, or `lameduck run`'s address, is malformed.
 */
export function takeActivation(platform: Platform): Activation {
  const env = platform.env;
  try {
    const fd = inheritedFd(env, platform.pid);
    const reusePort = fd === undefined && env("LAMEDUCK_HANDOVER") === "reuseport"
      ? reusePortAddress(env)
      : undefined;
    return { fd, notifyPath: env(NOTIFY_VARIABLE), systemd: env("NOTIFY_SOCKET"), reusePort };
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
