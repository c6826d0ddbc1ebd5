/**
 * The notice protocol between a served process and `lameduck run`, written and parsed here
 * only: `sd_notify` lines (`KEY=VALUE`), one per line, over the unix stream socket named by
 * `LAMEDUCK_NOTIFY` (`notify.ts` sends, the supervisor's `worker.ts` reads).
 *
 * @module
 */

/** A message to the supervisor, in `sd_notify` form (`KEY=VALUE` lines). */
export type Notice =
  | { type: "ready"; port: number }
  | { type: "stopping" }
  | { type: "closed"; completed: number; aborted: number; graceful: boolean };

/** Formats a notice as `sd_notify` lines (`READY=1`, `STOPPING=1`, `STATUS=...`). */
export function formatNotice(notice: Notice): string {
  switch (notice.type) {
    case "ready":
      return `READY=1\nSTATUS=serving on port ${notice.port}\n`;
    case "stopping":
      return "STOPPING=1\nSTATUS=draining\n";
    case "closed":
      return `STATUS=closed graceful=${notice.graceful} completed=${notice.completed} ` +
        `aborted=${notice.aborted}\n`;
  }
}

/** What one received line means to the supervisor (`undefined`: nothing it acts on). */
export type ParsedNotice =
  | { type: "ready" }
  | { type: "stopping" }
  | { type: "closed"; completed: number; aborted: number; graceful: boolean };

/** Parses one line written by {@linkcode formatNotice} (without its newline). */
export function parseNotice(line: string): ParsedNotice | undefined {
  if (line === "READY=1") return { type: "ready" };
  if (line === "STOPPING=1") return { type: "stopping" };
  const closed = /^STATUS=closed graceful=(true|false) completed=(\d+) aborted=(\d+)$/.exec(line);
  if (!closed) return undefined;
  return {
    type: "closed",
    graceful: closed[1] === "true",
    completed: Number(closed[2]),
    aborted: Number(closed[3]),
  };
}
