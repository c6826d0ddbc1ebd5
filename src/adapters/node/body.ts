/**
 * The body of a native `Response` for the Node bridge's `send` (`response.ts`): a single chunk
 * followed by the end goes out in one write with a `Content-Length`; anything else is piped
 * (`pipe.ts`).
 *
 * @module
 */
import type { ServerResponse } from "node:http";
import { corked, writeHead, type WriteOptions } from "./head.ts";
import { type Chunk, finished, pipe, type Reader } from "./pipe.ts";
import { type Completion, failed, named, type WriteOutcome } from "./response.ts";

/** Microtasks a read may take and still count as already available (one to three seen). */
const SOON = 8;
const ignore = (): void => {};

/** A read whose outcome can be looked at synchronously once it has settled. */
interface Peek {
  readonly promise: Promise<Chunk>;
  result: Chunk | undefined;
  failed: boolean;
}

function peek(promise: Promise<Chunk>): Peek {
  const read: Peek = { promise, result: undefined, failed: false };
  promise.then((result) => read.result = result, () => read.failed = true);
  return read;
}

/**
 * The body: a single chunk followed by the end goes out in one write with a `Content-Length`;
 * anything else is piped. Each wait lasts a few microtasks at most, counted inline (no race and
 * no async call per wait); then the head is sent without the chunk.
 */
export async function sendBody(
  response: Response,
  outgoing: ServerResponse,
  options: WriteOptions,
  reader: Reader,
  done: Completion | undefined,
): Promise<WriteOutcome> {
  /** `failed()` calls `done.end()` itself. */
  let handedOver = false;
  try {
    // The reader's `closed` says whether a first chunk was also the last one without a second
    // read: a static body is read once (bench/PROFILES.md).
    let closed = false;
    let ended = false;
    reader.closed.then(() => closed = ended = true, () => ended = true);
    const next = peek(reader.read());
    for (let i = 0; i < SOON && next.result === undefined && !next.failed; i++) await undefined;
    if (outgoing.destroyed) return cancel(reader);
    if (next.failed) await next.promise; // Throws: answered with a 500 below.
    const first = next.result;
    let pending = next.promise;
    if (first === undefined) {
      writeHead(response, outgoing, options, -1).flushHeaders();
    } else if (first.done) {
      writeHead(response, outgoing, options, 0).end();
      return finished(outgoing);
    } else {
      const chunk = first.value;
      for (let i = 0; i < SOON && !ended; i++) await undefined;
      // A closed stream has nothing more to read. Otherwise read on: more chunks are queued,
      // or the stream closes only when pulled again (a high-water mark of 0).
      let rest: Peek | undefined;
      if (!closed) {
        rest = peek(reader.read());
        for (let i = 0; i < SOON && rest.result === undefined && !rest.failed; i++) await undefined;
      }
      if (outgoing.destroyed) return cancel(reader);
      if ((rest === undefined || rest.result?.done === true) && chunk instanceof Uint8Array) {
        const socket = corked(outgoing);
        try {
          writeHead(response, outgoing, options, chunk.byteLength).end(chunk);
        } finally {
          socket?.uncork();
        }
        return finished(outgoing);
      }
      writeHead(response, outgoing, options, -1).write(chunk);
      pending = rest === undefined ? reader.read() : rest.promise;
    }
    return await pipe(reader, pending, outgoing);
  } catch (error) {
    reader.cancel(error).catch(ignore);
    handedOver = true;
    return await failed(named(error, response.headers), outgoing, options, done);
  } finally {
    if (!handedOver) done?.end();
  }
}

function cancel(reader: Reader): "cancelled" {
  reader.cancel().catch(ignore);
  return "cancelled";
}
