/**
 * A raw HTTP/1.1 client for the suites: one TCP connection on 127.0.0.1, requests written by
 * hand, responses parsed in order with the arrival time of every body piece, and how the
 * connection ended (FIN, RST, or closed by us). Every wait is bounded.
 *
 * @module
 */

import net from "node:net";
import { now, within } from "../shared/time.ts";

/** How a connection ended, as seen from the client. */
export type CloseKind = "fin" | "rst" | "local" | `error:${string}`;

/** A parsed response read off a raw socket. */
export interface RawResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
  /** Decoded body pieces (one per HTTP chunk when chunked) with their arrival time. */
  pieces: { at: number; text: string }[];
  /** Driver clock when the head was parsed / when the body was complete. */
  headAt: number;
  doneAt: number;
}

interface Pending {
  head: boolean;
  resolve: (r: RawResponse) => void;
  reject: (e: Error) => void;
  parsed?: {
    status: number;
    headers: Record<string, string>;
    headAt: number;
    mode: "none" | "length" | "chunked" | "eof";
    remaining: number;
    pieces: { at: number; text: string }[];
  };
}

/** One TCP connection speaking raw HTTP/1.1; responses are parsed in order. */
export class RawConnection {
  readonly socket: net.Socket;
  /** Resolves with how the connection ended. */
  readonly ended: Promise<CloseKind>;
  #buf: Buffer = Buffer.alloc(0);
  #pending: Pending[] = [];
  #closeKind: CloseKind | undefined;
  #destroyedLocally = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    let sawEnd = false;
    let error: NodeJS.ErrnoException | undefined;
    this.ended = new Promise<CloseKind>((resolve) => {
      socket.on("data", (chunk: Buffer) => {
        this.#buf = Buffer.concat([this.#buf, chunk]);
        this.#pump(now());
      });
      socket.on("end", () => {
        sawEnd = true;
        this.#closeKind ??= "fin";
        this.#pump(now());
        this.#failPending("fin");
        socket.end();
      });
      socket.on("error", (e: NodeJS.ErrnoException) => {
        error = e;
      });
      socket.on("close", () => {
        let kind: CloseKind;
        if (error) {
          kind = error.code === "ECONNRESET" ? "rst" : `error:${error.code ?? error.message}`;
        } else if (sawEnd) kind = "fin";
        else if (this.#destroyedLocally) kind = "local";
        else kind = "fin";
        this.#closeKind = kind;
        this.#pump(now());
        this.#failPending(kind);
        resolve(kind);
      });
    });
  }

  /** Connects to 127.0.0.1:`port`; rejects with the connect error (e.g. `ECONNREFUSED`). */
  static connect(port: number, timeoutMs = 5_000): Promise<RawConnection> {
    return within(
      new Promise<RawConnection>((resolve, reject) => {
        const socket = net.connect({ host: "127.0.0.1", port });
        socket.setNoDelay(true);
        const onError = (e: Error) => reject(e);
        socket.once("error", onError);
        socket.once("connect", () => {
          socket.off("error", onError);
          resolve(new RawConnection(socket));
        });
      }),
      timeoutMs,
      `connect to port ${port}`,
    );
  }

  /** The client's local port. */
  get localPort(): number {
    return this.socket.localPort!;
  }

  /** Writes one request (HTTP/1.1, keep-alive unless a header says otherwise). */
  send(method: string, path: string, headers: Record<string, string> = {}): void {
    const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    this.socket.write(lines.join("\r\n") + "\r\n\r\n");
  }

  /** Reads the next response. HEAD responses must be flagged: they have no body. */
  read(opts: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const p = new Promise<RawResponse>((resolve, reject) => {
      this.#pending.push({ head: opts.head ?? false, resolve, reject });
    });
    this.#pump(now());
    return within(p, opts.timeoutMs ?? 10_000, "a response on a raw connection");
  }

  /** `send` then `read`. */
  request(
    method: string,
    path: string,
    opts: { headers?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<RawResponse> {
    this.send(method, path, opts.headers);
    return this.read({ head: method === "HEAD", timeoutMs: opts.timeoutMs ?? 10_000 });
  }

  /** Closes the connection from the client side at once. */
  destroy(): void {
    this.#destroyedLocally = true;
    this.socket.destroy();
  }

  #failPending(kind: CloseKind): void {
    while (this.#pending.length > 0) {
      const p = this.#pending[0]!;
      if (p.parsed?.mode === "eof") {
        this.#pending.shift();
        p.resolve(this.#finish(p, now()));
        continue;
      }
      this.#pending.shift();
      const got = p.parsed
        ? `status ${p.parsed.status}, ${
          p.parsed.pieces.map((x) => x.text).join("").length
        } body chars`
        : `${this.#buf.length} unparsed bytes`;
      p.reject(new Error(`Connection closed (${kind}) before the response was complete (${got})`));
    }
  }

  #finish(p: Pending, at: number): RawResponse {
    const parsed = p.parsed!;
    return {
      status: parsed.status,
      headers: parsed.headers,
      body: parsed.pieces.map((x) => x.text).join(""),
      pieces: parsed.pieces,
      headAt: parsed.headAt,
      doneAt: at,
    };
  }

  #pump(at: number): void {
    while (this.#pending.length > 0) {
      const p = this.#pending[0]!;
      if (!p.parsed) {
        const end = this.#buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = this.#buf.subarray(0, end).toString("latin1");
        this.#buf = this.#buf.subarray(end + 4);
        const [statusLine = "", ...headerLines] = head.split("\r\n");
        const status = Number(statusLine.split(" ")[1]);
        const headers: Record<string, string> = {};
        for (const line of headerLines) {
          const i = line.indexOf(":");
          if (i < 0) continue;
          const name = line.slice(0, i).trim().toLowerCase();
          const value = line.slice(i + 1).trim();
          headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
        }
        let mode: "none" | "length" | "chunked" | "eof";
        let remaining = 0;
        if (p.head || status === 204 || status === 304 || (status >= 100 && status < 200)) {
          mode = "none";
        } else if (/\bchunked\b/i.test(headers["transfer-encoding"] ?? "")) mode = "chunked";
        else if (headers["content-length"] !== undefined) {
          mode = "length";
          remaining = Number(headers["content-length"]);
        } else mode = "eof";
        p.parsed = { status, headers, headAt: at, mode, remaining, pieces: [] };
        if (status >= 100 && status < 200) {
          // Informational: drop it and parse the real response.
          delete p.parsed;
          continue;
        }
      }
      const parsed = p.parsed;
      if (parsed.mode === "none" || (parsed.mode === "length" && parsed.remaining === 0)) {
        this.#pending.shift();
        p.resolve(this.#finish(p, at));
        continue;
      }
      if (parsed.mode === "length") {
        const take = Math.min(parsed.remaining, this.#buf.length);
        if (take > 0) {
          parsed.pieces.push({ at, text: this.#buf.subarray(0, take).toString("utf8") });
          this.#buf = this.#buf.subarray(take);
          parsed.remaining -= take;
        }
        if (parsed.remaining > 0) return;
        this.#pending.shift();
        p.resolve(this.#finish(p, at));
        continue;
      }
      if (parsed.mode === "eof") {
        if (this.#buf.length > 0) {
          parsed.pieces.push({ at, text: this.#buf.toString("utf8") });
          this.#buf = Buffer.alloc(0);
        }
        return; // completes in #failPending when the server closes
      }
      // chunked
      let done = false;
      for (;;) {
        const lineEnd = this.#buf.indexOf("\r\n");
        if (lineEnd < 0) break;
        const size = parseInt(this.#buf.subarray(0, lineEnd).toString("latin1").split(";")[0]!, 16);
        if (Number.isNaN(size)) {
          this.#pending.shift();
          p.reject(
            new Error(
              `Bad chunk size line: ${JSON.stringify(this.#buf.subarray(0, lineEnd).toString())}`,
            ),
          );
          return;
        }
        if (size === 0) {
          // Last chunk, then optional trailers, then an empty line.
          const trailerEnd = this.#buf.indexOf("\r\n\r\n", lineEnd);
          const simpleEnd =
            this.#buf.subarray(lineEnd, lineEnd + 4).toString("latin1") === "\r\n\r\n";
          if (!simpleEnd && trailerEnd < 0) break;
          this.#buf = this.#buf.subarray((simpleEnd ? lineEnd : trailerEnd) + 4);
          done = true;
          break;
        }
        if (this.#buf.length < lineEnd + 2 + size + 2) break;
        parsed.pieces.push({
          at,
          text: this.#buf.subarray(lineEnd + 2, lineEnd + 2 + size).toString("utf8"),
        });
        this.#buf = this.#buf.subarray(lineEnd + 2 + size + 2);
      }
      if (!done) return;
      this.#pending.shift();
      p.resolve(this.#finish(p, at));
    }
  }
}

/** Connects, sends one request, reads its response; the connection stays open. */
export async function rawRequest(
  port: number,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ conn: RawConnection; res: RawResponse }> {
  const conn = await RawConnection.connect(port);
  const res = await conn.request(method, path, opts);
  return { conn, res };
}

/** Tries to open a TCP connection: `"connected"` (then closed again) or the error code. */
export function tryConnect(port: number, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve("timeout");
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code ?? e.message);
    });
  });
}
