/**
 * The head of a Node response: status line and fields from a `Response`, and small plain-text
 * answers that need no `Response` at all. Part of the Node bridge (`src/adapters/node/`).
 *
 * @module
 */
import type { ServerResponse } from "node:http";
import { fieldsOf } from "./fields.ts";
import { type LightParts, TEXT_TYPE } from "./light_response.ts";
import { finished } from "./pipe.ts";
import { detectRuntime } from "../../process/runtime.ts";

/** Options of `writeResponse` (`response.ts`). */
export interface WriteOptions {
  /** The request was `HEAD`: send the headers only. */
  head: boolean;
  /** `false` sends `Connection: close` and closes the connection after this response. */
  keepAlive: boolean;
}

/** Options of {@linkcode writePlain}. */
export interface PlainOptions {
  /** `false` sends `Connection: close` and closes the connection after this response. */
  keepAlive: boolean;
  /** Extra fields, lower-case names; they override the defaults. */
  headers?: Readonly<Record<string, string>>;
}

const encoder = new TextEncoder();

const ON_NODE = detectRuntime() === "node";
/** The scratch buffer of `utf8Length`: texts of up to a third of it are encoded there. */
const SCRATCH_BYTES = 64 * 1024;
let scratch: Buffer | undefined;

/**
 * The UTF-8 length of `text`, as `Buffer.byteLength(text)` gives it (a lone surrogate counts
 * as U+FFFD, the three bytes Node writes for it). On Node 24, `Buffer.byteLength` counts one
 * character at a time inside V8, while writing a one-byte string into a buffer runs Node's SIMD
 * encoder: so on Node a long text is encoded into a scratch buffer, and the count of bytes
 * written is its length. A text with a character above U+00FF is two-byte inside V8, and encodes
 * slower than it counts: a sample of its characters sends it to `Buffer.byteLength`, as on Deno
 * and Bun, whose `Buffer.byteLength` is fast. Either way the length is exact. The figures:
 * bench/PROFILES.md, "The 16 KiB body".
 *
 * @param text The body.
 * @returns Its length in bytes, UTF-8 encoded.
 */
export function utf8Length(text: string): number {
  const n = text.length;
  if (!ON_NODE || n < 256 || n * 3 > SCRATCH_BYTES) return Buffer.byteLength(text);
  const step = n >>> 4; // 16 samples
  for (let i = 0; i < n; i += step) {
    if (text.charCodeAt(i) > 0xff) return Buffer.byteLength(text);
  }
  // Every character fits: at most three bytes each.
  return (scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES)).write(text, 0, "utf8");
}

/**
 * Bun only: on a connection handed to its `node:http` server with `emit("connection")`
 * (lameduck's inherited-socket path), Bun 1.4.5 writes a response's head and its body in two
 * `send` calls; Node and Deno write them in one. Not a bug, a cost (bench/PROFILES.md, "Bun"):
 * with the socket corked around `writeHead` and `end`, one (tests/supervisor/one_write_test.ts).
 */
const CORK = detectRuntime() === "bun";

/**
 * On Bun, corks `outgoing`'s socket and returns it (the caller uncorks it once the head and the
 * whole body are written); elsewhere `undefined`.
 */
export function corked(outgoing: ServerResponse): { uncork(): void } | undefined {
  if (!CORK) return undefined;
  const socket = outgoing.socket;
  if (socket === null || typeof socket.cork !== "function") return undefined;
  socket.cork();
  return socket;
}

/**
 * Sends a small plain-text response without building a `Response`, for hot-path answers such
 * as a `503` during shutdown. Sets `Content-Type` and `Content-Length`. For a `HEAD` request
 * the runtime drops the body itself (checked on all three).
 *
 * @param outgoing The Node response to write to.
 * @param status The status code.
 * @param body The text of the body.
 * @param options `keepAlive: false` for `Connection: close`; extra `headers`.
 *
 * @example Refuse a request while shutting down
 * ```ts
 * import { createServer } from "node:http";
 * import { writePlain } from "./head.ts";
 *
 * const server = createServer((_incoming, outgoing) => {
 *   writePlain(outgoing, 503, "Shutting down\n", {
 *     keepAlive: false,
 *     headers: { "retry-after": "1" },
 *   });
 * });
 * server.close();
 * ```
 */
export function writePlain(
  outgoing: ServerResponse,
  status: number,
  body: string,
  options: PlainOptions,
): void {
  const bytes = encoder.encode(body);
  const fields: Record<string, string | number> = {
    "content-type": "text/plain; charset=utf-8",
    "content-length": bytes.byteLength,
    ...options.headers,
  };
  if (!options.keepAlive) {
    outgoing.shouldKeepAlive = false;
    fields["connection"] = "close";
  }
  outgoing.writeHead(status, fields).end(bytes);
}

/**
 * `writeHead` from the response, with the bridge's own framing (`fields.ts`).
 *
 * @param response The response whose status and headers to write.
 * @param outgoing Where to write them.
 * @param options `keepAlive: false` sends `Connection: close` instead of the response's own.
 * @param length The body's length, or `-1` when unknown (then it is sent chunked).
 * @returns `outgoing`.
 */
export function writeHead(
  response: Response,
  outgoing: ServerResponse,
  options: WriteOptions,
  length: number,
): ServerResponse {
  const status = response.status;
  const fields = fieldsOf(
    response.headers,
    options.keepAlive,
    options.head,
    status,
    length,
    response,
  );
  if (!options.keepAlive) outgoing.shouldKeepAlive = false;
  const text = response.statusText;
  if (text === "") return outgoing.writeHead(status, fields);
  return outgoing.writeHead(status, text, fields);
}

/**
 * `writeHead` and `end` for a light response (`globals.ts`): no `Response`, no stream.
 *
 * @param parts The light response.
 * @param outgoing Where to write.
 * @param options `head` for `HEAD`; `keepAlive: false` sends `Connection: close`.
 */
export function writeLight(
  parts: LightParts,
  outgoing: ServerResponse,
  options: WriteOptions,
): void {
  const { status, body } = parts;
  const bodyless = options.head || status === 204 || status === 304;
  let length = 0;
  if (body !== null) length = typeof body === "string" ? utf8Length(body) : body.byteLength;
  let fields: string[];
  if (parts.headers === undefined) {
    fields = typeof body === "string" && TEXT_TYPE !== null ? ["content-type", TEXT_TYPE] : [];
    if (!bodyless) fields.push("content-length", String(length));
    if (!options.keepAlive) {
      outgoing.shouldKeepAlive = false;
      fields.push("connection", "close");
    }
  } else {
    const keepAlive = options.keepAlive;
    fields = fieldsOf(parts.headers, keepAlive, options.head, status, bodyless ? -1 : length);
    if (!keepAlive) outgoing.shouldKeepAlive = false;
  }
  const socket = corked(outgoing);
  try {
    if (parts.statusText === "") outgoing.writeHead(status, fields);
    else outgoing.writeHead(status, parts.statusText, fields);
    if (bodyless || body === null) outgoing.end();
    else if (
      typeof body === "string" && (parts.headers !== undefined || parts.statusText !== "") &&
      wideHead(fields, parts.statusText)
    ) {
      outgoing.end(Buffer.from(body));
    } else outgoing.end(body);
  } finally {
    socket?.uncork();
  }
}

/** A character above U+007F. */
const WIDE = /[\u0080-\uffff]/;

/**
 * Whether the head has a character above U+007F (obs-text, e.g. `filename="café"`). `node:http`
 * writes a head together with the first string chunk in that chunk's encoding: with a
 * `Content-Length` and `end(text)` such a head goes out as UTF-8 (`é` as two bytes), not as the
 * one byte per character a field value is everywhere else (Node 24.21, Deno's and Bun's
 * `node:http`, and `writeHead` with a byte body; no upstream issue found; regression test in
 * tests/contract/cases_send.ts). Such a response's text body is handed over as bytes.
 */
function wideHead(fields: string[], statusText: string): boolean {
  if (statusText !== "" && WIDE.test(statusText)) return true;
  for (let i = 1; i < fields.length; i += 2) if (WIDE.test(fields[i]!)) return true;
  return false;
}

/**
 * Answers `500 Internal Server Error` (the core's default answer's text) when nothing else can be sent (the response and `onError`'s
 * answer both failed before their head), and closes the connection.
 *
 * @param outgoing Where to write; its head not sent yet.
 * @returns `"errored"`.
 */
export function failBeforeHead(outgoing: ServerResponse): "errored" {
  try {
    resetStatus(outgoing);
    writePlain(outgoing, 500, "Internal Server Error\n", { keepAlive: false });
    finished(outgoing);
  } catch {
    outgoing.destroy();
  }
  return "errored";
}

/**
 * Before a second `writeHead` after one that threw: that one left its status text behind (on all
 * three runtimes' `node:http`), which would make a `500` say `500 OK`.
 *
 * @param outgoing The response whose `writeHead` failed.
 */
export function resetStatus(outgoing: ServerResponse): void {
  outgoing.statusMessage = "";
}
