/**
 * `lameduck run --pid-file`: the supervisor's PID in a file, created without following a
 * symbolic link, never taken from a supervisor still running, removed only by its owner.
 *
 * @module
 */

import { linkSync, lstatSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";

/** The PID in the regular file at `path`, or `undefined` (absent, a link, not a PID). */
function pidIn(path: string): number | undefined {
  try {
    if (!lstatSync(path).isFile()) return undefined;
    const text = readFileSync(path, "utf8").trim();
    return /^[1-9][0-9]*$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether process `pid` exists (`EPERM`: it does, another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Writes `pid` to `path`. The PID goes to a new file beside it (`O_CREAT | O_EXCL`, which
 * follows no link) that is then linked to `path`, or renamed over it when `path` is stale (its
 * PID is not running), a symbolic link or not a PID file: a planted link is replaced, its
 * target untouched.
 *
 * @returns Why it refused: `path` holds the PID of a running process, or cannot be written.
 */
export function claimPidFile(path: string, pid: number): string | undefined {
  const temp = `${path}.${pid}.tmp`;
  try {
    rmSync(temp, { force: true }); // a leftover of a crash (unlink follows no link either)
    writeFileSync(temp, `${pid}\n`, { flag: "wx", mode: 0o644 });
    try {
      linkSync(temp, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = pidIn(path);
      if (holder !== undefined && holder !== pid && alive(holder)) {
        return `--pid-file ${path} is held by pid ${holder}, which is running (another ` +
          `lameduck run?); stop it, or remove the file if that process is not one`;
      }
      renameSync(temp, path);
    }
    // Two supervisors replacing the same stale file at once: the last rename wins.
    const holder = pidIn(path);
    if (holder !== pid) return `--pid-file ${path} was taken meanwhile by pid ${holder}`;
    return undefined;
  } catch (error) {
    return `cannot write --pid-file ${path}: ${(error as Error).message}`;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Removes `path` if it still holds `pid` (never another supervisor's file). */
export function releasePidFile(path: string, pid: number): void {
  if (pidIn(path) === pid) rmSync(path, { force: true });
}
