/**
 * `lameduck run`'s hand-over decision: how the workers get the port (`fd` or `reuseport`), from
 * the option, the worker's runtime and the kernel's `net.ipv4.tcp_migrate_req`.
 *
 * @module
 */

import { basename } from "node:path";
import type { Handover, RunOptions } from "./args.ts";

/** The sysctl that makes `reuseport` hand-over lossless. */
export const MIGRATE_SYSCTL = "net.ipv4.tcp_migrate_req";

/** What the hand-over decision says, or why it refuses. */
export interface HandoverChoice {
  mode: Handover;
  /** One line for the log: what and why. */
  line: string;
  /** Set when the supervisor must not start (exit 2). */
  refused?: string;
}

/** Guesses the worker's runtime from its program's name. */
export function runtimeOf(command: readonly string[]): "deno" | "bun" | "node" | undefined {
  const name = basename(command[0] ?? "");
  if (/^deno(\.exe)?$/.test(name)) return "deno";
  if (/^bun[x]?(\.exe)?$/.test(name)) return "bun";
  if (/^node(js)?(\.exe)?$/.test(name)) return "node";
  return undefined;
}

/**
 * Picks the hand-over mode. `auto`: `reuseport` for a Bun worker when the kernel migrates
 * queued connections (the native `Bun.serve` is faster than `node:http`), else `fd`, which
 * loses nothing on any kernel (Deno's `shutdown()` closes connections it accepted and has not
 * read, so `reuseport` loses some on Deno whatever the sysctl; Node serves natively either way).
 */
export function chooseHandover(
  options: Pick<RunOptions, "handover" | "force" | "command">,
  migrate: string | undefined,
  inherited: boolean,
): HandoverChoice {
  const sysctl = migrate === undefined
    ? `${MIGRATE_SYSCTL} is missing (Linux < 5.14)`
    : `${MIGRATE_SYSCTL}=${migrate}`;
  const fdLine = (why: string) =>
    `handover fd: every worker inherits one listening socket (${why}); nothing queued is lost`;
  if (inherited) {
    if (options.handover === "reuseport") {
      return {
        mode: "fd",
        line: "",
        refused: "--handover reuseport cannot share a socket passed by systemd; use fd",
      };
    }
    return { mode: "fd", line: fdLine("the socket comes from systemd") };
  }
  if (options.handover === "fd") return { mode: "fd", line: fdLine("--handover fd") };
  if (options.handover === "auto") {
    const runtime = runtimeOf(options.command);
    if (runtime === "bun" && migrate === "1") {
      return {
        mode: "reuseport",
        line: `handover reuseport (auto for a Bun worker): each worker binds the port with ` +
          `SO_REUSEPORT on Bun.serve; ${sysctl}, so connections queued on a closing worker's ` +
          `listener move to the others`,
      };
    }
    const why = runtime === "bun"
      ? `auto: reuseport would reset queued connections, ${sysctl}`
      : `auto for a ${runtime ?? "worker of unknown"} runtime`;
    return { mode: "fd", line: fdLine(why) };
  }
  if (migrate === "1") {
    return {
      mode: "reuseport",
      line: `handover reuseport: each worker binds the port with SO_REUSEPORT; ${sysctl}, so ` +
        `connections queued on a closing worker's listener move to the others`,
    };
  }
  const risk = `connections queued on each old worker's listener are reset when it closes`;
  if (options.force) {
    return {
      mode: "reuseport",
      line: `handover reuseport (--force): ${sysctl}: ${risk} (set ${MIGRATE_SYSCTL}=1)`,
    };
  }
  return {
    mode: "reuseport",
    line: "",
    refused: `--handover reuseport would lose connections here: ${sysctl}, so ${risk}. ` +
      `Set ${MIGRATE_SYSCTL}=1 (Linux >= 5.14), use --handover fd, or add --force`,
  };
}
