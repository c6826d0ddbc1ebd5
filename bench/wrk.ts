/**
 * Runs wrk against 127.0.0.1 and parses its summary.
 *
 * @module
 */

import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./proc.ts";

/** What one wrk run reported. */
export interface WrkResult {
  requestsPerSec: number;
  requests: number;
  /** Socket errors (connect, read, write, timeout) plus non-2xx/3xx responses. */
  errors: number;
}

/** The path of wrk, installing it through `bench/install_wrk.sh` when missing. */
export function findWrk(): string {
  const out = execFileSync("bash", [join(ROOT, "bench", "install_wrk.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return out.trim().split("\n").pop()!;
}

/** The wrk arguments for `connections` keep-alive connections on one thread. */
export function wrkArgs(
  port: number,
  path: string,
  seconds: number,
  connections = 50,
  scheme: "http" | "https" = "http",
): string[] {
  return [`-t1`, `-c${connections}`, `-d${seconds}s`, `${scheme}://127.0.0.1:${port}${path}`];
}

/** Runs wrk with `args`; rejects if it fails or prints no summary. */
export function runWrk(wrk: string, args: string[]): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(wrk, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (s: string) => (out += s));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s: string) => (out += s));
    child.once("error", reject);
    child.once("exit", (code) => {
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
      const total = /(\d+) requests in/.exec(out);
      if (code !== 0 || !rps || !total) {
        reject(new Error(`wrk ${args.join(" ")} failed (${code}):\n${out}`));
        return;
      }
      const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/
        .exec(out);
      const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
      const errors = (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0) +
        Number(non2xx?.[1] ?? 0);
      resolve({ requestsPerSec: Number(rps[1]), requests: Number(total[1]), errors });
    });
  });
}
