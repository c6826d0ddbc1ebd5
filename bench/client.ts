/**
 * A lean HTTP/1.1 keep-alive client on raw sockets, one request at a time per connection, so
 * every failure is seen and attributed (wrk and autocannon reconnect silently). Parses
 * `Content-Length` and chunked bodies and reports `Connection: close`.
 *
 * @module
 */

import net from "node:net";

/** Why a request got no complete response. */
export type FailureKind = "reset" | "closed" | "timeout" | "status";

/** A request that got no complete, successful response. */
export class RequestFailed extends Error {
  readonly kind: FailureKind;
  constructor(kind: FailureKind, detail = "") {
    super(`Request failed: ${kind}${detail ? ` (${detail})` : ""}`);
    this.kind = kind;
  }
}

/** One response's outcome. */
export interface Reply {
  status: number;
  /** The server said `Connection: close`. */
  close: boolean;
}

interface Pending {
  resolve: (reply: Reply) => void;
  reject: (error: RequestFailed) => void;
  timer: ReturnType<typeof setTimeout>;
}

const HEAD_END = Buffer.from("\r\n\r\n");

/** One TCP connection to 127.0.0.1. */
export class Connection {
  readonly socket: net.Socket;
  /** Responses completed on it. */
  completed = 0;
  #buf: Buffer = Buffer.alloc(0);
  #pending: Pending | undefined;
  #request: Buffer;
  #port: number;
  #sawEnd = false;
  #error: string | undefined;
  /** Resolves when the socket is closed. */
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket, port: number) {
    this.socket = socket;
    this.#port = port;
    this.#request = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    socket.on("data", (chunk: Buffer) => {
      this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
      this.#parse();
    });
    socket.on("end", () => {
      this.#sawEnd = true;
      this.#fail(new RequestFailed("closed", "FIN before the response was complete"));
      socket.end();
    });
    socket.on("error", (e: NodeJS.ErrnoException) => (this.#error = e.code ?? e.message));
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        const kind = this.#error !== undefined || !this.#sawEnd ? "reset" : "closed";
        this.#fail(new RequestFailed(kind, this.#error ?? "socket closed"));
        resolve();
      })
    );
  }

  /** Connects; rejects with the socket error (its `code` is e.g. `ECONNREFUSED`). */
  static connect(port: number, timeoutMs = 5_000): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(Object.assign(new Error("connect timed out"), { code: "ETIMEDOUT" }));
      }, timeoutMs);
      socket.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve(new Connection(socket, port));
      });
    });
  }

  /** Whether a request may be sent: the server has not closed or half-closed it. */
  get usable(): boolean {
    const s = this.socket;
    return !s.destroyed && !this.#sawEnd && !s.readableEnded && s.writable;
  }

  /**
   * Sends `GET <path>` (`/` unless given) and resolves with the response; rejects with
   * {@linkcode RequestFailed}.
   */
  get(timeoutMs = 10_000, path = "/"): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(new RequestFailed("timeout")), timeoutMs);
      this.#pending = { resolve, reject, timer };
      this.socket.write(
        path === "/"
          ? this.#request
          : `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${this.#port}\r\n\r\n`,
      );
    });
  }

  /** Closes from the client side. */
  destroy(): void {
    this.socket.destroy();
  }

  #fail(error: RequestFailed): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    this.#pending = undefined;
    clearTimeout(pending.timer);
    pending.reject(error);
  }

  #parse(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    const buf = this.#buf;
    const headEnd = buf.indexOf(HEAD_END);
    if (headEnd < 0) return;
    const head = buf.toString("latin1", 0, headEnd).toLowerCase();
    const status = Number(head.slice(9, 12));
    const close = /\r\nconnection:\s*close/.test(head);
    let end: number;
    const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
    if (length) {
      end = headEnd + 4 + Number(length[1]);
      if (buf.length < end) return;
    } else if (/\r\ntransfer-encoding:\s*chunked/.test(head)) {
      const last = buf.indexOf("\r\n0\r\n\r\n", headEnd + 2);
      if (last < 0) return;
      end = last + 7;
    } else {
      end = headEnd + 4; // No body (e.g. 204).
    }
    this.#buf = buf.subarray(end);
    this.#pending = undefined;
    clearTimeout(pending.timer);
    this.completed++;
    pending.resolve({ status, close });
  }
}
