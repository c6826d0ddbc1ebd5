/**
 * A request body read from the raw `IncomingMessage` first (`ctx.incoming.on("data")`, `for
 * await (const c of ctx.incoming)`) is used up: the bridge's request then raises the
 * platform's `TypeError` for a used body, never an empty string, with the globals replaced
 * (`LazyRequest`) or not (`toRequest`).
 *
 * @module
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { LazyRequest } from "../../src/adapters/node/lazy_request.ts";
import { toRequest } from "../../src/adapters/node/request.ts";

type Read = (incoming: IncomingMessage) => Promise<string>;

const onData: Read = (incoming) =>
  new Promise((resolve) => {
    let text = "";
    incoming.on("data", (chunk: Buffer) => text += String(chunk));
    incoming.on("end", () => resolve(text));
  });

const iterate: Read = async (incoming) => {
  let text = "";
  for await (const chunk of incoming) text += String(chunk);
  return text;
};

const none: Read = () => Promise.resolve("");

/** POSTs `hello`; the server reads the raw body with `read`, then `request.text()`. */
async function observe(
  read: Read,
  build: (incoming: IncomingMessage) => Request,
): Promise<{ raw: string; text: string } | { raw: string; error: string }> {
  let result!: Promise<{ raw: string; text: string } | { raw: string; error: string }>;
  const server = createServer((incoming, outgoing) => {
    result = (async () => {
      const raw = await read(incoming);
      const request = build(incoming);
      try {
        return { raw, text: await request.text() };
      } catch (error) {
        return { raw, error: `${(error as Error).name}: ${(error as Error).message}` };
      }
    })();
    void result.finally(() => outgoing.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "hello" });
    await response.text();
    return await result;
  } finally {
    server.close();
  }
}

const lazy = (incoming: IncomingMessage) =>
  new LazyRequest(incoming, "POST", "http://127.0.0.1/") as unknown as Request;
const native = (incoming: IncomingMessage) => toRequest(incoming, "http://127.0.0.1");
const USED = "TypeError: Body is unusable: the request body was already read from ctx.incoming";

for (const [name, build] of [["LazyRequest", lazy], ["toRequest", native]] as const) {
  test(`${name}: text() after ctx.incoming.on("data") read the body raises a TypeError, never ""`, async () => {
    assert.deepEqual(await observe(onData, build), { raw: "hello", error: USED });
  });

  test(`${name}: text() after for await over ctx.incoming raises a TypeError, never ""`, async () => {
    assert.deepEqual(await observe(iterate, build), { raw: "hello", error: USED });
  });

  test(`${name}: text() with the raw body untouched returns it`, async () => {
    assert.deepEqual(await observe(none, build), { raw: "", text: "hello" });
  });
}
