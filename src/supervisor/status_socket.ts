/**
 * The channel `lameduck status` asks the supervisor over: a unix socket (mode 0600) in a
 * directory only its user can enter (mode 0700), `$TMPDIR/lameduck-<uid>/status-<pid>.sock`. The
 * supervisor listens on that socket only; the client refuses a directory or socket that is not
 * its own user's with no access for others, so an answer comes from a process of its own user.
 * A connection says `status` on one line and gets one JSON line back.
 *
 * @module
 */

import { chmodSync, lstatSync, mkdirSync, rmSync, type Stats } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import process from "node:process";

/** The request line. */
const REQUEST = "status";
/** How long a connection may take to send its request, in ms. */
const REQUEST_TIMEOUT_MS = 2_000;

/** Why `stats` (of `what` at `path`) is not private to this user, or `undefined` when it is. */
function notPrivate(path: string, stats: Stats, kind: "directory" | "socket"): string | undefined {
  const uid = process.getuid!();
  const isKind = kind === "directory" ? stats.isDirectory() : stats.isSocket();
  const mode = (stats.mode & 0o777).toString(8).padStart(4, "0");
  if (!isKind || stats.isSymbolicLink() || stats.uid !== uid || (stats.mode & 0o077) !== 0) {
    const what = stats.isSymbolicLink() ? "a symbolic link" : isKind ? kind : `not a ${kind}`;
    return `${path} is ${what} of mode ${mode} owned by uid ${stats.uid}; expected a ${kind} ` +
      `of mode ${kind === "directory" ? "0700" : "0600"} owned by uid ${uid}`;
  }
  return undefined;
}

/**
 * Creates `dir` (0700) if needed, checks it is private, and listens on `path` (then 0600). Each
 * connection that asks gets `answer()` as one JSON line.
 *
 * @throws {Error} When `dir` is not private to this user or cannot be made.
 * @returns Closes the server and removes the socket.
 */
export function listenStatus(
  dir: string,
  path: string,
  answer: () => unknown,
  onError: (message: string) => void,
): () => void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const refused = notPrivate(dir, lstatSync(dir), "directory");
  if (refused !== undefined) throw new Error(refused);
  // A socket of this PID is left by an earlier process that had it.
  rmSync(path, { force: true });
  const server: Server = createServer((connection) => {
    let request = "";
    connection.setEncoding("utf8");
    connection.setTimeout(REQUEST_TIMEOUT_MS, () => connection.destroy());
    connection.on("error", () => {});
    connection.on("data", (text: string) => {
      request += text;
      const end = request.indexOf("\n");
      if (end === -1) {
        if (request.length > REQUEST.length + 1) connection.destroy();
        return;
      }
      if (request.slice(0, end) !== REQUEST) return void connection.destroy();
      connection.end(`${JSON.stringify(answer())}\n`);
    });
  });
  server.on("error", (error) => onError(`status socket ${path}: ${error.message}`));
  server.listen(path, () => {
    try {
      chmodSync(path, 0o600);
    } catch (error) {
      onError(`status socket ${path}: ${(error as Error).message}`);
    }
  });
  return () => {
    server.close();
    rmSync(path, { force: true });
  };
}

/** What asking gave: the answer, or why there is none (`refused`: not a private channel). */
export type Asked =
  | { ok: true; answer: unknown }
  | { ok: false; refused: boolean; message: string };

/** Asks the supervisor listening at `path` (in `dir`), after checking both are private. */
export async function askStatus(dir: string, path: string, timeoutMs = 3_000): Promise<Asked> {
  const stat = (p: string) => {
    try {
      return lstatSync(p);
    } catch (error) {
      return (error as NodeJS.ErrnoException).code ?? "error";
    }
  };
  for (const [p, kind] of [[dir, "directory"], [path, "socket"]] as const) {
    const stats = stat(p);
    if (typeof stats === "string") {
      return { ok: false, refused: false, message: `no status socket at ${path} (${stats})` };
    }
    const refused = notPrivate(p, stats, kind);
    if (refused !== undefined) {
      return { ok: false, refused: true, message: `refusing to ask: ${refused}` };
    }
  }
  return await new Promise<Asked>((resolve) => {
    const socket = connect(path);
    let text = "";
    const fail = (message: string) => {
      socket.destroy();
      resolve({ ok: false, refused: false, message });
    };
    socket.setEncoding("utf8");
    socket.setTimeout(timeoutMs, () => fail(`${path} did not answer within ${timeoutMs} ms`));
    socket.on("connect", () => socket.write(`${REQUEST}\n`));
    socket.on("data", (chunk: string) => (text += chunk));
    socket.on("error", (error) => fail(`${path}: ${error.message}`));
    socket.on("end", () => {
      try {
        resolve({ ok: true, answer: JSON.parse(text) });
      } catch {
        fail(`${path} answered something that is not JSON`);
      }
    });
  });
}
