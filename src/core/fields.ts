/**
 * Response fields the HTTP/1.1 wire cannot carry. `Headers` refuses NUL, CR and LF in a value
 * and any name that is not a token, but lets through the other control characters, which
 * RFC 9110 (section 5.5) forbids in a field value. Handed to the runtime, such a value panics
 * Deno (deno 2.9.6, `http_h1/write.rs` "invalid response header value": the whole process
 * exits; no upstream issue found), is written to the wire as is by Bun 1.4.5, and makes Node's
 * `writeHead` throw. Adapters check a response with {@linkcode unsendableField} before the
 * runtime sees it and answer through `onError` instead.
 *
 * @module
 */

/** A control character other than HTAB, or DEL: never valid in a field value. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const FORBIDDEN = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * Whether `value` cannot be a field value on the wire (a control character other than HTAB, or
 * DEL), for an adapter that reads a runtime's field list its own way.
 *
 * @param value A field value.
 * @returns `true` when {@linkcode unsendableField} would name it.
 */
export function forbiddenValue(value: string): boolean {
  return FORBIDDEN.test(value);
}

/**
 * Returns a `TypeError` naming the first field of `headers` whose value the wire forbids, or
 * `undefined` when every value may be sent.
 *
 * @param headers The response's headers.
 * @returns The error to answer through `onError`, or `undefined`.
 *
 * @example A query parameter copied into a header
 * ```ts
 * import { unsendableField } from "./fields.ts";
 *
 * const headers = new Headers({ "content-disposition": 'attachment; filename="a\x01b"' });
 * console.assert(unsendableField(headers) instanceof TypeError);
 * console.assert(unsendableField(new Headers({ "x-ok": "a\tb" })) === undefined);
 * ```
 */
export function unsendableField(headers: Headers): TypeError | undefined {
  let error: TypeError | undefined;
  headers.forEach((value, name) => {
    if (error === undefined && FORBIDDEN.test(value)) {
      error = new TypeError(
        `Invalid response header value for ${name}: ${JSON.stringify(value)} ` +
          "(a control character)",
      );
    }
  });
  return error;
}
