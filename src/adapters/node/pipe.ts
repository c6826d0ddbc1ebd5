/**
 * Streaming a response body to a `ServerResponse`, with backpressure, for the Node bridge
 * (`response.ts`).
 *
 * @module
 */
import type { ServerResponse } from "node:http";
import { discardBody } from "./request.ts";

/** One read of a response body. */
export type Chunk = ReadableStreamReadResult<Uint8Array>;
/** The response body's reader. */
export type Reader = ReadableStreamDefaultReader<Uint8Array>;

/** How writing a response ended (see `writeResponse`). */
export type Outcome = "finished" | "cancelled" | "errored";

const ignore = (): void => {};

/**
 * Streams the rest of the body to `outgoing` (its head already written), then `end()`. It
 * waits for `'drain'` whenever a write is refused, and cancels the body when the client
 * goes away. Rejects when the body errors; the caller decides what the client sees.
 *
 * @param reader The body's reader.
 * @param next The read already under way.
 * @param outgoing Where to write.
 * @returns `"finished"` once `end()` was called, `"cancelled"` if the client left first.
 */
export async function pipe(
  reader: Reader,
  next: Promise<Chunk>,
  outgoing: ServerResponse,
): Promise<Outcome> {
  let gone = false;
  let wake = ignore;
  const onClose = (): void => {
    gone = true;
    wake();
    reader.cancel().catch(ignore);
  };
  const onDrain = (): void => wake();
  outgoing.on("close", onClose);
  try {
    for (;;) {
      const { done, value } = await next;
      if (outgoing.destroyed && !gone) onClose(); // Closed before the listener saw it.
      if (gone) return "cancelled";
      if (done) {
        outgoing.end();
        return finished(outgoing);
      }
      if (!outgoing.write(value)) {
        outgoing.on("drain", onDrain);
        await new Promise<void>((resolve) => wake = resolve);
        outgoing.off("drain", onDrain);
        if (gone) return "cancelled";
      }
      next = reader.read();
    }
  } finally {
    outgoing.off("close", onClose);
  }
}

/**
 * After `end()`: lets the rest of a half-read request body flow away.
 *
 * @param outgoing The response just ended.
 * @returns `"finished"`.
 */
export function finished(outgoing: ServerResponse): "finished" {
  const incoming = outgoing.req;
  if (incoming !== undefined) discardBody(incoming);
  return "finished";
}
