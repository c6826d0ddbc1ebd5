/**
 * A response from `fetch()` keeps the upstream's `Content-Encoding` while its body is already
 * decoded: sent on as it is, the client tries to decode a plain body (and on a bridge that kept
 * the compressed `Content-Length`, the rest of the body became the client's next response). A
 * `fetch()` result has a `url` (a constructed `Response` has none; Bun 1.4.5's `fetch()` says
 * `type: "default"`, so `type` cannot tell). Which encodings each runtime's `fetch` decodes,
 * measured (case-insensitive on all three): Node 24.21's undici 7.29 `gzip`, `x-gzip`,
 * `deflate`, `br`, `zstd` and lists of them; Bun 1.4.5 one of those five, not a list; Deno 2.9.6
 * `gzip` and `br` only. Not seen: a body re-wrapped in a new `Response` (no `url` any more),
 * and Bun's `fetch(url, { decompress: false })`, whose body is still encoded: there the handler
 * must set the fields right itself.
 *
 * @module
 */

import { detectRuntime } from "../process/runtime.ts";

const DECODED = detectRuntime() === "deno"
  ? /^(?:gzip|br)$/i
  : detectRuntime() === "bun"
  ? /^(?:gzip|x-gzip|deflate|br|zstd)$/i
  : /^(?:gzip|x-gzip|deflate|br|zstd)(?:[ \t]*,[ \t]*(?:gzip|x-gzip|deflate|br|zstd))*$/i;

/**
 * Whether `encoding`, the `Content-Encoding` of a `fetch()` result, names what this runtime's
 * `fetch` has already decoded (then the field no longer describes the body).
 *
 * @param encoding The field's value.
 * @returns `true` when the body is decoded.
 */
export function decodedByFetch(encoding: string): boolean {
  return DECODED.test(encoding);
}
