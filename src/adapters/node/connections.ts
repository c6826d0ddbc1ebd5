/**
 * The Node adapter's book of HTTP/1.1 connections, and how shutdown closes the ones that carry
 * no request. Node's `close()` closes only connections idle at the call; connections that
 * become idle later linger until `keepAliveTimeout`, and accepted connections that never sent a
 * byte stay open forever. The book closes both itself.
 *
 * A connection's state is named as Go's `net/http` names it ({@linkcode ConnState}), derived
 * when shutdown looks at the connection: the request path only counts requests and marks where
 * the last response ended.
 *
 * @module
 */

import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { RemoteAddress } from "../../core/types.ts";

/**
 * How long a new connection may take to send its first request before shutdown closes it as
 * idle. A client sends its request right after connecting, but the bytes may still sit in the
 * kernel when the connection is accepted: closing it then resets that request (seen as
 * ECONNRESET under `lameduck run`, where connections keep arriving while a worker drains).
 */
export const FIRST_REQUEST_GRACE_MS = 250;

/**
 * How long after the listener closed a connection with no request in flight may go on
 * receiving: a request head still arriving (a slow client, or slowloris), or the unread body of
 * a request already answered. A head that completes in time is answered (`Connection: close`);
 * then, or past this, the connection is closed. Such a connection is not in flight (the drain
 * report does not count it), so it must not hold the drain: Go's `Shutdown` closes a connection
 * that never completed a request after 5 s; this is shorter, far below `drainTimeout`'s default,
 * so that a connection that carries nothing never decides how long a drain takes.
 */
export const ARRIVAL_GRACE_MS = 1_000;

/**
 * After a response ended, the rest of a request body the handler did not read is read and
 * discarded for at most this long and this many bytes, then the connection is closed. Node
 * itself would read it forever (`IncomingMessage._dump`), so a client uploading slowly to a
 * handler that answered without reading would keep its connection, and the drain, open.
 * Reading it at all lets a client still sending get the response before the close (closing
 * with unread bytes resets the connection, and a reset can make the client drop the response).
 * The same bounds as `@hono/node-server`'s time cap; bytes well below its 64 MiB.
 */
const UNREAD_BODY_MS = 500;
const UNREAD_BODY_BYTES = 1024 * 1024;

/** Accepted; nothing received yet. Gets {@linkcode FIRST_REQUEST_GRACE_MS} once closing. */
export const StateNew = 0;
/** A request in flight (received and not yet answered), or upgraded (a WebSocket). */
export const StateActive = 1;
/**
 * No request in flight, bytes arriving: a request head, or the unread body of a request already
 * answered. Gets {@linkcode ARRIVAL_GRACE_MS} once closing (Go has no such state: it counts
 * them as active or new).
 */
export const StateArriving = 2;
/** Between requests, nothing arriving (keep-alive). Closed at once when closing. */
export const StateIdle = 3;

/** The state of a connection in the book (a closed one has left the book). */
export type ConnState =
  | typeof StateNew
  | typeof StateActive
  | typeof StateArriving
  | typeof StateIdle;

/** Each state's name, for logs and tests. */
export const STATE_NAMES: Readonly<Record<ConnState, string>> = {
  [StateNew]: "new",
  [StateActive]: "active",
  [StateArriving]: "arriving",
  [StateIdle]: "idle",
};

/** Per-connection bookkeeping. */
export interface Connection {
  /** Requests received and not yet answered. */
  active: number;
  /** `socket.bytesRead` when the last response finished: more means a request is arriving. */
  mark: number;
  /** When it was accepted (`performance.now()`). */
  acceptedAt: number;
  /**
   * The arrival grace of a {@linkcode StateArriving} connection once closing: `"none"` before
   * it started, `"running"` during it, `"over"` after.
   */
  arrival: "none" | "running" | "over";
  /** The client's address, read once per connection (each read is a system call). */
  remote: RemoteAddress | undefined;
}

/** The state of `connection`, whose socket is `socket`. */
export function stateOf(socket: Socket, connection: Connection): ConnState {
  if (connection.active > 0) return StateActive;
  if (socket.bytesRead !== connection.mark) return StateArriving;
  return connection.mark === 0 ? StateNew : StateIdle;
}

/** The `'close'` listener that takes a socket out of `book`. */
function forgetter(book: Map<Socket, Connection>): (this: Socket) => void {
  return function (this: Socket): void {
    book.delete(this);
  };
}

/** Every open HTTP/1.1 connection of one server (HTTP/2 sessions are `http2.ts`'s). */
export class ConnectionBook extends Map<Socket, Connection> {
  /** Set when the listener closes or the drain is forced: idle connections are closed. */
  closing = false;
  /** One shared `'close'` listener: no `once` wrapper and no closure per connection. */
  readonly #forget: (this: Socket) => void;

  constructor() {
    super();
    this.#forget = forgetter(this);
  }

  /** A connection was accepted. */
  accept(socket: Socket): void {
    const connection: Connection = {
      active: 0,
      mark: 0,
      acceptedAt: performance.now(),
      arrival: "none",
      remote: undefined,
    };
    this.set(socket, connection);
    socket.on("close", this.#forget);
    if (this.closing) this.closeIfIdle(socket, connection);
  }

  /** The listener closed: every connection without a request in flight is closed. */
  close(): void {
    this.closing = true;
    for (const [socket, connection] of this) this.closeIfIdle(socket, connection);
  }

  /** Cuts every connection. */
  force(): void {
    this.closing = true;
    for (const socket of this.keys()) socket.destroy();
  }

  /**
   * While closing: closes `socket` unless a request is in flight on it. A connection in
   * {@linkcode StateArriving} gets {@linkcode ARRIVAL_GRACE_MS} from the first look; one in
   * {@linkcode StateNew}, {@linkcode FIRST_REQUEST_GRACE_MS} from its accept.
   */
  closeIfIdle(socket: Socket, connection: Connection): void {
    switch (stateOf(socket, connection)) {
      case StateActive:
        return;
      case StateArriving:
        if (connection.arrival === "none") {
          connection.arrival = "running";
          setTimeout(() => {
            connection.arrival = "over";
            this.closeIfIdle(socket, connection);
          }, ARRIVAL_GRACE_MS).unref();
        }
        if (connection.arrival === "running") return;
        break;
      case StateNew: {
        const wait = connection.acceptedAt + FIRST_REQUEST_GRACE_MS - performance.now();
        if (wait > 0) {
          setTimeout(() => this.closeIfIdle(socket, connection), wait).unref();
          return;
        }
        break;
      }
    }
    socket.destroy();
  }

  /**
   * The response to `incoming` on `connection` is over: its connection may be idle now, or once
   * the rest of an unread body is gone.
   */
  over(incoming: IncomingMessage, socket: Socket, connection: Connection): void {
    connection.active--;
    connection.mark = socket.bytesRead;
    if (!incoming.complete && !socket.destroyed) this.#discardUnread(incoming, socket, connection);
    else if (this.closing) this.closeIfIdle(socket, connection);
  }

  /**
   * The response to `incoming` ended before its body was read: read and discard the rest, at
   * most {@linkcode UNREAD_BODY_MS} and {@linkcode UNREAD_BODY_BYTES}, then close the
   * connection. Once the body ended, the connection is idle.
   */
  #discardUnread(incoming: IncomingMessage, socket: Socket, connection: Connection): void {
    let bytes = 0;
    const cut = () => {
      done();
      socket.destroy();
    };
    const timer = setTimeout(cut, UNREAD_BODY_MS).unref();
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > UNREAD_BODY_BYTES) cut();
    };
    const done = () => {
      clearTimeout(timer);
      incoming.off("data", onData).off("end", ended).off("error", done);
    };
    const ended = () => {
      done();
      connection.mark = socket.bytesRead;
      if (this.closing) this.closeIfIdle(socket, connection);
    };
    incoming.on("data", onData).on("end", ended).on("error", done);
    incoming.resume();
  }
}
