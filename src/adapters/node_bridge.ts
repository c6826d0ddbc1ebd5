/**
 * The bridge between `node:http` and the Fetch API: {@linkcode toRequest} turns an
 * `IncomingMessage` into a `Request` (`node_request.ts`), {@linkcode writeResponse} writes a
 * `Response` to a `ServerResponse` (`node_response.ts`). It runs on Node, and on Deno and Bun
 * through their `node:http`. These functions never replace a global and work with native
 * objects; the adapter's fast path with replaced globals (the `overrideGlobals` option) is in
 * `node_globals.ts`.
 *
 * @example Serve a fetch handler with node:http
 * ```ts
 * import { createServer } from "node:http";
 * import { toRequest, writeResponse } from "./node_bridge.ts";
 *
 * const server = createServer((incoming, outgoing) => {
 *   const request = toRequest(incoming, "http://127.0.0.1:8000");
 *   const head = request.method === "HEAD";
 *   void writeResponse(new Response(request.url), outgoing, { head, keepAlive: true });
 * });
 * server.close();
 * ```
 *
 * @module
 */
export { discardBody, toRequest } from "./node_request.ts";
export { type PlainOptions, type WriteOptions, writePlain } from "./node_head.ts";
export { type Completion, send, type WriteOutcome, writeResponse } from "./node_response.ts";
