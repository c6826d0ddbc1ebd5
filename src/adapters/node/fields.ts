/**
 * The header fields the Node bridge writes for a `Response` (`head.ts`). The framing of the
 * wire is the bridge's, never the handler's: `node:http` writes a `Content-Length` or
 * `Transfer-Encoding` it is given even when the body differs (Node 24.21, `strictContentLength`
 * off; Deno's and Bun's `node:http` too), so a `Response` whose `content-length` was wrong left
 * the rest of its body on a keep-alive connection, read by the client as its next response
 * (response desync; `@hono/node-server` 2.x copies the fields the same way). So:
 *
 * - `Content-Length` is the length of the body the bridge sends, when it knows it; otherwise
 *   Node sends it chunked (or until close). The handler's is dropped, except on a `HEAD` answer,
 *   which has no body on the wire: there it says what a `GET` would get, as Node and Go keep it.
 * - `204` and `304` never get a `Content-Length` or `Transfer-Encoding`.
 * - Hop-by-hop fields from the handler (`Connection`, `Keep-Alive`, `Transfer-Encoding`,
 *   `Upgrade`, `Proxy-Connection`, `TE`, `Trailer`) are dropped; the bridge writes its own
 *   `Connection`. A handler's `Connection: close` is honoured: the bridge sends `Connection:
 *   close` and closes the connection after the response.
 * - A `fetch()` result whose `Content-Encoding` the runtime's `fetch` has already decoded loses
 *   that field and its compressed `Content-Length` (`fetch_decoded.ts`).
 *
 * @module
 */
import { unsendableField } from "../../core/fields.ts";
import { decodedByFetch } from "../fetch_decoded.ts";

/** Whether a `Connection` field value asks to close (the `close` token). */
const CLOSE = /(?:^|[ \t,])close(?:$|[ \t,])/i;

/**
 * The fields to hand to `writeHead`, as a flat `[name, value, ...]` list.
 *
 * @param headers The response's fields.
 * @param keepAlive `false` adds `Connection: close`.
 * @param head The request was `HEAD`: a stated `Content-Length` is kept.
 * @param status The response's status.
 * @param length The length of the body the bridge sends, or `-1` when unknown or none.
 * @param response The native `Response` (its `url` tells a `fetch()` result), if any.
 * @returns The fields.
 * @throws {TypeError} For a `204` or `304` whose field value has a control character: checked
 *   here because a failed `writeHead` leaves such a response unable to carry the `500` body.
 */
export function fieldsOf(
  headers: Headers,
  keepAlive: boolean,
  head: boolean,
  status: number,
  length: number,
  response?: Response,
): string[] {
  const bodyless = status === 204 || status === 304;
  if (bodyless) {
    const error = unsendableField(headers);
    if (error !== undefined) throw error;
  }
  const fields: string[] = [];
  let stated: string | undefined;
  let encoding = -1;
  let close = !keepAlive;
  // Iteration yields each Set-Cookie apart (Fetch "sort and combine"), on all three runtimes.
  headers.forEach((value, name) => {
    switch (name) {
      case "content-length":
        stated = value;
        return;
      case "connection":
        if (CLOSE.test(value)) close = true;
        return;
      case "keep-alive":
      case "transfer-encoding":
      case "upgrade":
      case "proxy-connection":
      case "te":
      case "trailer":
        return;
      case "content-encoding":
        encoding = fields.length;
    }
    fields.push(name, value);
  });
  if (
    encoding >= 0 && response !== undefined && response.url !== "" &&
    decodedByFetch(fields[encoding + 1]!)
  ) {
    fields.splice(encoding, 2);
    stated = undefined; // The compressed length.
  }
  if (length >= 0 && !bodyless) fields.push("content-length", String(length));
  else if (head && !bodyless && stated !== undefined) fields.push("content-length", stated);
  if (close) fields.push("connection", "close");
  return fields;
}
