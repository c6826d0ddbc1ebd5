/**
 * The notice protocol between a served process and `lameduck run`, written and parsed here
 * only: `sd_notify` lines (`KEY=VALUE`), one per line, over the unix stream socket named by
 * `LAMEDUCK_NOTIFY` (`notify.ts` sends, the supervisor's `worker.ts` reads).
 *
 * `LAMEDUCK_NOTIFY` is `<token>:<path>`: a random token per worker, then the socket's path. The
 * first line of a connection must be `TOKEN=<token>`; the supervisor drops a connection that
 * does not open with its worker's token, so a process that merely finds the socket (it sits in
 * `$TMPDIR`) cannot report a worker ready. The token travels in the worker's environment
 * because it is the one channel all three runtimes read (a unix socket's `SO_PEERCRED` is not
 * reachable from Node, and a process of the same user able to read `/proc/<pid>/environ` could
 * as well trace the worker). One line may be at most {@linkcode MAX_NOTICE_LINE} characters.
 *
 * @module
 */

/** The longest notice line the supervisor accepts (without its newline), in characters. */
export const MAX_NOTICE_LINE = 4096;

/** Where and how a worker reaches its supervisor. */
export interface NotifyAddress {
  path: string;
  /** Sent as the connection's first line, `TOKEN=<token>`. */
  token: string;
}

/** The value of `LAMEDUCK_NOTIFY` for `address`. */
export function formatAddress(address: NotifyAddress): string {
  return `${address.token}:${address.path}`;
}

/**
 * Reads `LAMEDUCK_NOTIFY`: `<token>:<path>` (a token is 32 hex digits); a value without a token
 * is a bare path (the supervisor will not accept its notices).
 */
export function parseAddress(value: string): NotifyAddress {
  const match = /^([0-9a-f]{32}):(.+)$/.exec(value);
  return match ? { token: match[1]!, path: match[2]! } : { token: "", path: value };
}

/** The first line of a connection: proves it comes from the worker holding `token`. */
export function tokenLine(token: string): string {
  return `TOKEN=${token}\n`;
}

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
