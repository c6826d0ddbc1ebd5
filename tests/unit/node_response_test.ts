import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { send, type WriteOutcome } from "../../src/adapters/node/response.ts";

interface Sent {
  /** What `send()` returned: a string when the outcome was known at once. */
  returned: WriteOutcome | Promise<WriteOutcome>;
  /** How many times the completion was told, when the outcome settled. */
  ends: number;
  outcome: WriteOutcome;
}

/** Serves one response made by `make`, sent with `send()`; resolves with what happened. */
async function serveOnce(make: (outgoing: ServerResponse) => Response) {
  let report!: (sent: Sent) => void;
  const sent = new Promise<Sent>((resolve) => report = resolve);
  const server = createServer((_incoming, outgoing) => {
    const done = { ends: 0, end: () => done.ends++ };
    const returned = send(make(outgoing), outgoing, { head: false, keepAlive: true }, done);
    void Promise.resolve(returned).then((outcome) =>
      report({ returned, ends: done.ends, outcome })
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    sent,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** One request on a raw socket; resolves with the raw response once `done(data)`. */
function fetchRaw(port: number, done: (data: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    });
    let data = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      data += chunk;
      if (done(data)) {
        socket.destroy();
        resolve(data);
      }
    });
    socket.on("error", reject);
  });
}

const encoder = new TextEncoder();

test("send() answers a body-less response without a promise and ends its completion once", async () => {
  const served = await serveOnce(() => new Response(null, { status: 204 }));
  try {
    await fetchRaw(served.port, (d) => d.endsWith("\r\n\r\n"));
    const sent = await served.sent;
    assert.equal(sent.returned, "finished");
    assert.equal(sent.ends, 1);
  } finally {
    await served.close();
  }
});

test("send() writes a text body in one piece with a Content-Length, then ends its completion once", async () => {
  const served = await serveOnce(() => new Response("hello"));
  try {
    const data = await fetchRaw(served.port, (d) => d.endsWith("hello"));
    assert.match(data, /\r\ncontent-length: 5\r\n/i);
    assert.doesNotMatch(data, /transfer-encoding/i);
    const sent = await served.sent;
    assert.equal(sent.outcome, "finished");
    assert.equal(sent.ends, 1);
  } finally {
    await served.close();
  }
});

test("a one-chunk stream that closes only when pulled again still gets a Content-Length", async () => {
  const served = await serveOnce(() => {
    let pulls = 0;
    return new Response(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          if (pulls++ === 0) controller.enqueue(encoder.encode("pulled"));
          else controller.close();
        },
      }, { highWaterMark: 0 }),
    );
  });
  try {
    const data = await fetchRaw(served.port, (d) => d.endsWith("pulled"));
    assert.match(data, /\r\ncontent-length: 6\r\n/i);
    assert.equal((await served.sent).ends, 1);
  } finally {
    await served.close();
  }
});

test("a stream whose chunks were all queued before it closed is sent chunked, every chunk", async () => {
  const served = await serveOnce(() =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encoder.encode("one;"));
          controller.enqueue(encoder.encode("two"));
          controller.close();
        },
      }),
    )
  );
  try {
    const data = await fetchRaw(served.port, (d) => d.endsWith("0\r\n\r\n"));
    assert.match(data, /\r\ntransfer-encoding: chunked\r\n/i);
    assert.match(data, /one;[^]*two/);
    const sent = await served.sent;
    assert.equal(sent.outcome, "finished");
    assert.equal(sent.ends, 1);
  } finally {
    await served.close();
  }
});

test("send() ends the completion once when the handler wrote the response itself", async () => {
  const served = await serveOnce((outgoing) => {
    outgoing.end("own");
    return new Response("ignored");
  });
  try {
    await fetchRaw(served.port, (d) => d.endsWith("own"));
    const sent = await served.sent;
    assert.equal(sent.outcome, "finished");
    assert.equal(sent.ends, 1);
  } finally {
    await served.close();
  }
});
