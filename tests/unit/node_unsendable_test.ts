import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { type Completion, send } from "../../src/adapters/node/response.ts";

/** What the completion was told. */
interface Told {
  ends: number;
  unsendable: unknown[];
  cut: unknown[];
}

/**
 * Serves `make()`'s response with `send()` and a completion that records what it is told
 * (`answer` is what its `unsendable` returns; without it the completion has none); returns the
 * raw bytes the client got until the server closed, and what the completion was told.
 */
async function exchange(
  make: () => Response,
  answer?: () => Response,
): Promise<{ raw: string; told: Told }> {
  const told: Told = { ends: 0, unsendable: [], cut: [] };
  let settled!: Promise<unknown>;
  const server = createServer((_incoming: IncomingMessage, outgoing: ServerResponse) => {
    const done: Completion = {
      end: () => told.ends++,
      cut: (error) => told.cut.push(error),
    };
    if (answer !== undefined) {
      done.unsendable = (error) => {
        told.unsendable.push(error);
        return Promise.resolve(answer());
      };
    }
    settled = Promise.resolve(send(make(), outgoing, { head: false, keepAlive: true }, done));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const raw = await new Promise<string>((resolve, reject) => {
      const port = (server.address() as AddressInfo).port;
      const socket = connect(port, "127.0.0.1", () => {
        socket.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
      });
      let data = "";
      socket.setEncoding("latin1");
      socket.on("data", (chunk: string) => {
        data += chunk;
        // A complete answer on a kept-alive connection: stop there.
        if (/\r\n\r\nonError$/.test(data)) socket.destroy();
      });
      socket.on("close", () => resolve(data));
      socket.on("error", reject);
    });
    await settled;
    return { raw, told };
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

const onError = () => new Response("onError", { status: 599 });

test("send() answers a field value with a control character with done.unsendable()'s response; the completion ends once", async () => {
  const { raw, told } = await exchange(
    () => new Response("x", { headers: { "x-name": "a\x01b" } }),
    onError,
  );
  assert.match(raw, /^HTTP\/1\.1 599 unknown\r\n/, raw);
  assert.equal(told.unsendable.length, 1);
  assert.match(String(told.unsendable[0]), /x-name/);
  assert.deepEqual([told.ends, told.cut.length], [1, 0]);
});

test("send() answers Response.error() and a locked body with done.unsendable()'s response", async () => {
  const locked = () => {
    const body = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new Uint8Array([1])) });
    const response = new Response(body);
    response.body!.getReader();
    return response;
  };
  for (const make of [() => Response.error(), locked]) {
    const { raw, told } = await exchange(make, onError);
    assert.match(raw, /^HTTP\/1\.1 599 /, raw);
    assert.equal(told.unsendable.length, 1);
    assert.ok(told.unsendable[0] instanceof TypeError, String(told.unsendable[0]));
    assert.equal(told.ends, 1);
  }
});

test("send() without unsendable answers a plain 500 (its own status text) and logs through cut", async () => {
  const { raw, told } = await exchange(() =>
    new Response("x", { status: 200, headers: { "x-name": "a\x01b" } })
  );
  assert.match(raw, /^HTTP\/1\.1 500 Internal Server Error\r\n/, raw);
  assert.match(raw, /\r\nconnection: close\r\n/i, raw);
  assert.deepEqual([told.ends, told.cut.length], [1, 1]);
});

test("send() cuts a body that fails after its head: done.cut() hears of it, no last chunk", async () => {
  const failing = () =>
    new Response(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          controller.enqueue(new TextEncoder().encode("part\n"));
          await new Promise((resolve) => setTimeout(resolve, 20));
          controller.error(new Error("midway"));
        },
      }),
    );
  const { raw, told } = await exchange(failing, onError);
  assert.match(raw, /^HTTP\/1\.1 200 OK\r\n/, raw);
  assert.ok(raw.includes("part\n") && !raw.endsWith("0\r\n\r\n"), JSON.stringify(raw));
  assert.equal(told.unsendable.length, 0);
  assert.equal(told.cut.length, 1);
  assert.match(String(told.cut[0]), /midway/);
  assert.equal(told.ends, 1);
});
