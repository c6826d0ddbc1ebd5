/**
 * `lameduck status [--pid-file PATH] [--json]`: reads the supervisor's PID from its pid file
 * (default `./lameduck.pid`), asks it over its private status socket, and prints the answer
 * (text, or the JSON object). Exit 0 when it answered, 1 when no supervisor answers (a missing
 * or stale pid file, a channel that is not private), 2 for bad usage.
 *
 * @module
 */

import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import process from "node:process";
import type { StatusOptions } from "./args.ts";
import { formatStatus, type StatusAnswer, statusPaths } from "./status.ts";
import { askStatus } from "./status_socket.ts";

/** The pid file `lameduck status` reads without `--pid-file`. */
export const DEFAULT_PID_FILE = "lameduck.pid";

/** Runs `lameduck status`; resolves with the exit code. */
export async function status(
  options: StatusOptions,
  out: (text: string) => void = (text) => console.log(text),
  err: (text: string) => void = (text) => console.error(`lameduck status: ${text}`),
): Promise<number> {
  let pidFile = options.pidFile;
  if (pidFile === undefined) {
    if (!existsSync(DEFAULT_PID_FILE)) {
      err(
        `no --pid-file given and ./${DEFAULT_PID_FILE} does not exist: pass --pid-file PATH ` +
          `(the file lameduck run --pid-file writes)`,
      );
      return 2;
    }
    pidFile = DEFAULT_PID_FILE;
  }
  let text: string;
  try {
    text = readFileSync(pidFile, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    err(`no supervisor answers: cannot read ${pidFile} (${code}); lameduck run removes it on exit`);
    return 1;
  }
  if (!/^[1-9][0-9]*\n?$/.test(text)) {
    err(`no supervisor answers: ${pidFile} holds no PID (${JSON.stringify(text.slice(0, 40))})`);
    return 1;
  }
  const pid = Number(text.trim());
  try {
    process.kill(pid, 0);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    err(
      code === "ESRCH"
        ? `no supervisor answers: pid ${pid} (from ${pidFile}) is not running: a stale pid file`
        : `no supervisor answers: pid ${pid} (from ${pidFile}): ${code}; only the ` +
          `supervisor's own user can ask`,
    );
    return 1;
  }
  const { dir, path } = statusPaths(resolve(tmpdir()), process.getuid!(), pid);
  const asked = await askStatus(dir, path);
  if (!asked.ok) {
    err(asked.refused ? asked.message : `no supervisor answers: ${asked.message}`);
    return 1;
  }
  const answer = asked.answer as StatusAnswer;
  out(options.json ? JSON.stringify(answer) : formatStatus(answer));
  return 0;
}
