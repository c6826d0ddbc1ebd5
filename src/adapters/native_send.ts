/**
 * The check `Deno.serve` and `Bun.serve` need before they are handed a handler's `Response`:
 * what they cannot send is answered through `onError` instead (logged with the request).
 *
 * - A field value with a control character ({@linkcode unsendableField}): Deno 2.9.6 panics
 *   on HTTP/1.1 (the whole process exits; no upstream issue found) and resets the stream on
 *   HTTP/2; Bun 1.4.5 writes the byte to the wire.
 * - `Response.error()` and a body already read: both runtimes answer their own `500` (Bun's
 *   development error page, 50 KB with the working directory, unless `NODE_ENV=production`).
 *
 * Not checked, since telling a stream body from a static one costs a body stream for every
 * response: a body locked by a reader nobody read from (Deno answers its own `500`; Bun's
 * `error` callback answers lameduck's), and a body stream that fails before its first chunk
 * (both runtimes have sent or begun the head by then).
 *
 * @module
 */

import type { Exchange } from "../core/exchange.ts";
import { forbiddenValue, unsendableField } from "../core/fields.ts";
import { errorResponse } from "../core/responses.ts";
import { decodedByFetch } from "./fetch_decoded.ts";

/**
 * Returns a `TypeError` saying why the native servers cannot send `response`, or `undefined`.
 * A `101 Switching Protocols` (a WebSocket upgrade) is left alone.
 */
export function unsendable(response: Response): TypeError | undefined {
  if (response.status === 101) return undefined;
  if (response.type === "error") {
    return new TypeError("Response.error() cannot be sent: it is a network error, status 0");
  }
  if (response.bodyUsed) {
    return new TypeError("The response's body was already read: it cannot be sent");
  }
  const headers = response.headers;
  const list = fieldList?.(headers);
  if (list === undefined) return unsendableField(headers);
  for (let i = 0; i < list.length; i++) {
    if (forbiddenValue(list[i]![1])) return unsendableField(headers);
  }
  return undefined;
}

/**
 * Deno's `Headers` iteration sorts and combines the fields on every call: checking a
 * `new Response("hello")` through `forEach` cost about 250 ns, one with three fields 700 ns,
 * against 30 and 90 ns over the field list the object keeps (Deno 2.9.6, bench/PROFILES.md).
 * So where a `Headers` has that list (an own property of symbol "header list", an array of
 * `[name, value]` pairs) and no lazy getter in its place, the check reads it; the shape is
 * verified once on a probe, and anything else (Bun, a changed Deno) takes `unsendableField`.
 */
const fieldList = ((): ((headers: Headers) => [string, string][] | undefined) | undefined => {
  const probe = new Response(null, { headers: [["x-probe", "1"]] }).headers;
  const symbols = Object.getOwnPropertySymbols(probe);
  const list = symbols.find((s) => s.description === "header list");
  const getter = symbols.find((s) => s.description === "header list getter");
  type Internal = Record<symbol, unknown>;
  const read = (headers: Headers): [string, string][] | undefined => {
    if (list === undefined) return undefined;
    if (getter !== undefined && (headers as unknown as Internal)[getter] != null) return undefined;
    const fields = (headers as unknown as Internal)[list];
    return Array.isArray(fields) ? fields as [string, string][] : undefined;
  };
  probe.set("x-probe-2", "a\x01b");
  const seen = read(probe);
  const shaped = seen !== undefined && seen.length === 2 &&
    seen.some((f) => Array.isArray(f) && f[0] === "x-probe" && f[1] === "1") &&
    seen.some((f) => Array.isArray(f) && f[0] === "x-probe-2" && f[1] === "a\x01b");
  return shaped ? read : undefined;
})();

/** Whether {@linkcode unsendable} reads Deno's field list (see `fieldList`). */
export const readsFieldList: boolean = fieldList !== undefined;

/**
 * What to send instead of a response that {@linkcode unsendable} refused: `onError`'s answer
 * (or the default `500`); lameduck's plain `500` when that answer cannot be sent either (also
 * logged with the request). Never rejects.
 */
export async function instead(exchange: Exchange, error: TypeError): Promise<Response> {
  const answer = await exchange.unsendable(error);
  const again = unsendable(answer);
  if (again === undefined) return answer;
  exchange.cut(new TypeError(`onError's answer cannot be sent either: ${again.message}`));
  return errorResponse();
}

/**
 * Bun only: `Bun.serve` sends a `fetch()` result's `Content-Encoding` as it is, although Bun's
 * `fetch` decoded the body (Bun 1.4.5: `return fetch(upstream)` of a gzip upstream reaches the
 * client as a plain body that says `gzip`, which the client cannot decode; no upstream issue
 * found; regression test in tests/torture/send_test.ts). `Deno.serve` drops the field itself.
 * Returns a copy without the field and its compressed length, or `response` as it is. Asked of
 * responses that arrive through a promise, as every `fetch()` result does.
 */
export function withoutDecodedEncoding(response: Response): Response {
  if (response.url === "") return response;
  const encoding = response.headers.get("content-encoding");
  if (encoding === null || !decodedByFetch(encoding)) return response;
  const copy = new Response(response.body, response);
  copy.headers.delete("content-encoding");
  copy.headers.delete("content-length");
  return copy;
}
