/**
 * `lameduck status`'s answer: what the running supervisor says of itself (its state, hand-over
 * mode, workers and last restart) as JSON data, and the text people read. Where it is asked:
 * `status_socket.ts`.
 *
 * @module
 */

import { join } from "node:path";
import type { RestartOutcome, SupervisorState, WorkerStatus } from "./state.ts";

/** The supervisor's answer to `lameduck status` (`--json` prints it as it is). */
export interface StatusAnswer {
  /** The supervisor's PID. */
  pid: number;
  state: SupervisorState;
  handover: "fd" | "reuseport";
  /** The address it holds. */
  socket: { host: string; port: number };
  /** The workers not yet exited, in the order they started. */
  workers: { id: number; pid: number | null; state: string; readySince: string | null }[];
  /** How the last restart ended; `null` before the first one ends. */
  lastRestart:
    | {
      signal: string;
      result: RestartOutcome["result"];
      reason: string | null;
      startedAt: string;
      durationMs: number;
    }
    | null;
}

/** The answer from the supervisor's own records (times as ISO 8601 strings). */
export function statusAnswer(
  pid: number,
  state: SupervisorState,
  handover: "fd" | "reuseport",
  socket: { host: string; port: number },
  workers: readonly WorkerStatus[],
  last: RestartOutcome | undefined,
): StatusAnswer {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    pid,
    state,
    handover,
    socket: { host: socket.host, port: socket.port },
    workers: workers.map((w) => ({
      id: w.id,
      pid: w.pid ?? null,
      state: w.state,
      readySince: w.readySince === undefined ? null : iso(w.readySince),
    })),
    lastRestart: last === undefined ? null : {
      signal: last.signal,
      result: last.result,
      reason: last.reason ?? null,
      startedAt: iso(last.startedAt),
      durationMs: last.durationMs,
    },
  };
}

/** The answer as lines for people. */
export function formatStatus(answer: StatusAnswer, now: number = Date.now()): string {
  const { pid, state, handover, socket, workers, lastRestart } = answer;
  const ago = (iso: string) => `${Math.max(0, Math.round((now - Date.parse(iso)) / 1000))} s ago`;
  const lines = [
    `lameduck run (pid ${pid}): ${state}, socket ${socket.host}:${socket.port}, handover ` +
    `${handover}, ${workers.length} worker${workers.length === 1 ? "" : "s"}`,
  ];
  for (const w of workers) {
    const since = w.readySince === null ? "" : ` since ${w.readySince} (${ago(w.readySince)})`;
    lines.push(`  worker ${w.id} (pid ${w.pid ?? "none"}): ${w.state}${since}`);
  }
  if (lastRestart === null) lines.push("last restart: none");
  else {
    const { signal, result, reason, startedAt, durationMs } = lastRestart;
    const why = reason === null ? "" : `: ${reason}`;
    lines.push(
      `last restart: ${signal} at ${startedAt} (${ago(startedAt)}), ${result} after ` +
        `${durationMs} ms${why}`,
    );
  }
  return lines.join("\n");
}

/**
 * The private directory of the status sockets of `uid`'s supervisors (`$TMPDIR/lameduck-<uid>`,
 * mode 0700), and the socket of the supervisor whose PID is `pid` in it.
 */
export function statusPaths(tmp: string, uid: number, pid: number): { dir: string; path: string } {
  const dir = join(tmp, `lameduck-${uid}`);
  return { dir, path: join(dir, `status-${pid}.sock`) };
}
