/**
 * Tells the supervisor (`lameduck run`) how a server is doing, over the unix stream socket
 * named by `LAMEDUCK_NOTIFY`, in `sd_notify` form. `node:net` reaches a unix socket on all
 * three runtimes; none of them can send the unix *datagram* systemd's `NOTIFY_SOCKET` wants.
 *
 * @module
 */

import { createConnection } from "node:net";
import { formatNotice, type Notice } from "./notice.ts";

/** Sends notices in order; never throws (a supervisor that went away is not an error here). */
export type Notify = (notice: Notice) => void;

/** Connects to `path` and returns the sender. Notices sent before the connection are queued. */
export function connectNotify(path: string): Notify {
  const socket = createConnection({ path });
  socket.on("error", (error) => {
    console.error(`lameduck: cannot notify the supervisor at ${path}: ${error.message}`);
  });
  // The notification channel alone must not keep the process alive.
  socket.unref();
  return (notice) => {
    if (!socket.destroyed) socket.write(formatNotice(notice));
  };
}
