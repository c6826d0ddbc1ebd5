/**
 * Tells the supervisor (`lameduck run`) how a server is doing, over the unix stream socket
 * named by `LAMEDUCK_NOTIFY`, in `sd_notify` form. `node:net` reaches a unix socket on all
 * three runtimes; none of them can send the unix *datagram* systemd's `NOTIFY_SOCKET` wants.
 *
 * @module
 */

import { createConnection, type Socket } from "node:net";
import { workerIdentity } from "../core/emit.ts";
import { linePrefix } from "../core/log.ts";
import { formatNotice, type Notice, parseAddress, tokenLine } from "./notice.ts";

/** Sends notices in order; never throws (a supervisor that went away is not an error here). */
export type Notify = (notice: Notice) => void;

/** The hint for the permission Deno refused (`NotCapable`), or nothing. */
function hint(error: Error): string {
  return error.name === "NotCapable"
    ? " (Deno: grant --allow-net, --allow-read and --allow-write for it, or run with -A)"
    : "";
}

/**
 * Connects to the supervisor at `address` (the value of `LAMEDUCK_NOTIFY`), sends the token
 * line, and returns the sender. Notices sent before the connection are queued. Never throws:
 * when the connection cannot be made (Deno without the permission to reach the socket throws
 * `NotCapable` at the call), it warns once and the notices are dropped, so the supervisor does
 * not see this server as ready and says so.
 *
 * @param onGone Called once when a connection that was made closes: the supervisor is gone
 * (killed, or it dropped this connection). Not called when the connection never opened.
 */
export function connectNotify(address: string, onGone: () => void = () => {}): Notify {
  const { path, token } = parseAddress(address);
  let warned = false;
  const warn = (error: Error) => {
    if (warned) return;
    warned = true;
    console.error(
      `${linePrefix(workerIdentity())} cannot notify the supervisor at ${path}: ` +
        `${error.message}${hint(error)}`,
    );
  };
  let socket: Socket;
  try {
    socket = createConnection({ path });
  } catch (error) {
    warn(error as Error);
    return () => {};
  }
  socket.on("error", warn);
  socket.once("connect", () => socket.once("close", onGone));
  socket.write(tokenLine(token));
  // The notification channel alone must not keep the process alive.
  socket.unref();
  return (notice) => {
    try {
      if (!socket.destroyed) socket.write(formatNotice(notice));
    } catch (error) {
      warn(error as Error);
    }
  };
}
