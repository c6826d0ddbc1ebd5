import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, request as httpRequest } from "node:http";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { toRequest } from "../../src/adapters/node/request.ts";
import { writePlain } from "../../src/adapters/node/head.ts";
import { writeResponse } from "../../src/adapters/node/response.ts";
import type { WriteOutcome } from "../../src/adapters/node/response.ts";
import { within } from "../shared/time.ts";

type Fetch = (
  request: Request,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
) => Response | Promise<Response>;

interface Served {
  port: number;
  origin: string;
  /** The outcome of the first `writeResponse()`. */
  outcome: Promise<WriteOutcome>;
  close(): Promise<void>;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A node:http server that runs `fetch` through the bridge. */
async function serve(fetch: Fetch, keepAlive = true): Promise<Served> {
  const outcome = deferred<WriteOutcome>();
  let origin = "";
  const server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    let request: Request;
    try {
      request = toRequest(incoming, origin);
    } catch (error) {
      writePlain(outgoing, 400, String(error), { keepAlive: false });
      return;
    }
    Promise.resolve(request).then((r) => fetch(r, incoming, outgoing)).then(
      (response) => {
        const head = request.method === "HEAD";
        void writeResponse(response, outgoing, { head, keepAlive }).then(outcome.resolve);
      },
      (error) => writePlain(outgoing, 500, String(error), { keepAlive: false }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  return {
    port,
    origin,
    outcome: outcome.promise,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

interface Reply {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP request with Node's client; `body` chunks are written one by one. */
function send(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string> } = {},
  body: Uint8Array[] = [],
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, agent: false, ...options }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => text += chunk);
      res.on("error", reject);
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? "",
          headers: res.headers,
          body: text,
        }));
    });
    req.on("error", reject);
    for (const chunk of body) req.write(chunk);
    req.end();
  });
}

/** Writes `text` on a raw socket and collects what comes back until `done(data)` or the close. */
function exchange(
  port: number,
  text: string,
  done: (data: string) => boolean = () => false,
): Promise<{ data: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(text));
    let data = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      data += chunk;
      if (done(data)) {
        socket.destroy();
        resolve({ data, closed: false });
      }
    });
    socket.on("error", reject);
    socket.on("close", () => resolve({ data, closed: true }));
  });
}

function pattern(size: number, offset: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (offset + i) % 251;
  return bytes;
}

/** A stream of text chunks that records its cancel(). */
function spyStream(chunks: string[], forever = false) {
  const cancelled = deferred<unknown>();
  const encoder = new TextEncoder();
  let pulls = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = chunks[pulls++];
      if (chunk !== undefined) controller.enqueue(encoder.encode(chunk));
      else if (forever) await delay(5).then(() => controller.enqueue(encoder.encode(".")));
      else controller.close();
    },
    cancel(reason) {
      cancelled.resolve(reason);
    },
  });
  return { stream, cancelled: cancelled.promise, pulls: () => pulls };
}

test("toRequest() carries method, URL, headers and body", async () => {
  const served = await serve(async (request) =>
    Response.json({
      method: request.method,
      url: request.url,
      header: request.headers.get("x-test"),
      body: await request.text(),
    })
  );
  try {
    const reply = await send(served.port, {
      method: "PUT",
      path: "/a/b?c=d",
      headers: { "x-test": "yes", "content-type": "text/plain" },
    }, [new TextEncoder().encode("hello")]);
    assert.deepEqual(JSON.parse(reply.body), {
      method: "PUT",
      url: `${served.origin}/a/b?c=d`,
      header: "yes",
      body: "hello",
    });
  } finally {
    await served.close();
  }
});

test("toRequest() keeps repeated request headers", async () => {
  const served = await serve((request) =>
    new Response(`${request.headers.get("x-dup")}|${request.headers.get("x-single")}`)
  );
  try {
    const { data } = await exchange(
      served.port,
      "GET / HTTP/1.1\r\nHost: a.test\r\nX-Dup: 1\r\nX-Single: s\r\nX-Dup: 2\r\n" +
        "Connection: close\r\n\r\n",
    );
    assert.match(data, /\r\n\r\n1, 2\|s$/);
  } finally {
    await served.close();
  }
});

test("toRequest() builds the URL from the Host header, else the origin, and rejects a bad Host", async () => {
  const served = await serve((request) => new Response(request.url));
  try {
    const named = await exchange(served.port, "GET /p?q HTTP/1.0\r\nHost: a.test:8080\r\n\r\n");
    assert.ok(named.data.endsWith("\r\n\r\nhttp://a.test:8080/p?q"), named.data);
    const noHost = await exchange(served.port, "GET /p HTTP/1.0\r\n\r\n");
    assert.ok(noHost.data.endsWith(`\r\n\r\n${served.origin}/p`), noHost.data);
    const evil = await exchange(served.port, "GET /p HTTP/1.1\r\nHost: evil.test/x?\r\n\r\n");
    assert.match(evil.data, /^HTTP\/1\.1 400 /);
  } finally {
    await served.close();
  }
});

test("toRequest() gives GET and bodiless requests a null body", async () => {
  const served = await serve((request) => new Response(String(request.body)));
  try {
    assert.equal((await send(served.port)).body, "null");
    assert.equal((await send(served.port, { method: "DELETE" })).body, "null");
    const withBody = await send(served.port, {
      method: "DELETE",
      headers: { "content-length": "1" },
    }, [new Uint8Array([1])]);
    assert.equal(withBody.body, "[object ReadableStream]");
  } finally {
    await served.close();
  }
});

test("toRequest() streams a 1 MiB body and stops taking data while nobody reads", async () => {
  const size = 1024 * 1024;
  let deliveredWhileIdle = 0;
  const served = await serve(async (request, incoming) => {
    let delivered = 0; // What the runtime let in from the socket (bytesRead is 0 on Bun).
    incoming.on("data", (chunk: Uint8Array) => delivered += chunk.byteLength);
    const reader = request.body!.getReader();
    let total = 0;
    let sum = 0;
    const add = (chunk: Uint8Array): void => {
      total += chunk.byteLength;
      for (const byte of chunk) sum = (sum + byte) % 1_000_003;
    };
    const first = await reader.read();
    add(first.value!);
    await delay(150); // The client keeps sending; the bridge must stop reading the socket.
    deliveredWhileIdle = delivered;
    for (let r = await reader.read(); !r.done; r = await reader.read()) add(r.value);
    return new Response(`${total}:${sum}`);
  });
  try {
    const chunks = Array.from({ length: 16 }, (_, i) => pattern(size / 16, (i * size) / 16));
    let expected = 0;
    for (const chunk of chunks) for (const byte of chunk) expected = (expected + byte) % 1_000_003;
    const reply = await send(served.port, {
      method: "POST",
      headers: { "content-length": String(size) },
    }, chunks);
    assert.equal(reply.body, `${size}:${expected}`);
    assert.ok(deliveredWhileIdle < size / 2, `took ${deliveredWhileIdle} bytes while idle`);
  } finally {
    await served.close();
  }
});

test("the request body errors when the client aborts mid-body", async () => {
  const failed = deferred<unknown>();
  const served = await serve(async (request) => {
    try {
      await request.arrayBuffer();
      failed.resolve("no error");
    } catch (error) {
      failed.resolve(error);
    }
    return new Response("late");
  });
  try {
    const socket = connect(served.port, "127.0.0.1", () => {
      socket.write("POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1000\r\n\r\n0123456789");
      setTimeout(() => socket.destroy(), 50);
    });
    socket.on("error", () => {});
    const error = await within(failed.promise, 3_000, "the body to error");
    assert.ok(error instanceof Error, `expected an error, got ${String(error)}`);
  } finally {
    await served.close();
  }
});

test("the request body errors when the request is destroyed mid-body", async () => {
  const failed = deferred<unknown>();
  const served = await serve(async (request, incoming) => {
    const reader = request.body!.getReader();
    await reader.read();
    incoming.destroy(); // As a forced shutdown may do: no error, just 'close'.
    try {
      while (!(await reader.read()).done);
      failed.resolve("no error");
    } catch (error) {
      failed.resolve(error);
    }
    return new Response("late");
  });
  try {
    const socket = connect(served.port, "127.0.0.1", () => {
      socket.write("POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1000\r\n\r\n0123456789");
    });
    socket.on("error", () => {});
    const error = await within(failed.promise, 3_000, "the body to error");
    socket.destroy();
    assert.ok(error instanceof Error, `expected an error, got ${String(error)}`);
  } finally {
    await served.close();
  }
});

test("a half-read request body is discarded after the response, so the connection goes on", async () => {
  const served = await serve(async (request) => {
    if (request.method === "GET") return new Response("second");
    await request.body!.getReader().read(); // Reads one chunk, never the rest.
    return new Response("first");
  });
  try {
    const size = 4 * 1024 * 1024;
    const socket = connect(served.port, "127.0.0.1");
    const done = deferred<string>();
    let data = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      data += chunk;
      if (data.endsWith("second")) done.resolve(data);
    });
    socket.write(`POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: ${size}\r\n\r\n`);
    socket.write(new Uint8Array(size));
    socket.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    const reply = await within(done.promise, 3_000, "the second response").finally(() =>
      socket.destroy()
    );
    assert.match(reply, /first[^]*second$/);
  } finally {
    await served.close();
  }
});

test("writeResponse() sends status, status text, headers and every Set-Cookie", async () => {
  const served = await serve(() => {
    const headers = new Headers({ "x-custom": "1" });
    headers.append("set-cookie", "a=1; Path=/");
    headers.append("set-cookie", "b=2; Path=/");
    return new Response("made", { status: 201, statusText: "Made It", headers });
  });
  try {
    const reply = await send(served.port);
    assert.equal(reply.status, 201);
    assert.equal(reply.statusText, "Made It");
    assert.equal(reply.headers["x-custom"], "1");
    assert.deepEqual(reply.headers["set-cookie"], ["a=1; Path=/", "b=2; Path=/"]);
    assert.equal(reply.body, "made");
    assert.equal(await served.outcome, "finished");
  } finally {
    await served.close();
  }
});

test("writeResponse() sends a body held in memory with a Content-Length, not chunked", async () => {
  const served = await serve(() => new Response("hello world"));
  try {
    const reply = await send(served.port);
    assert.equal(reply.headers["content-length"], "11");
    assert.equal(reply.headers["transfer-encoding"], undefined);
    assert.equal(reply.body, "hello world");
    assert.equal(await served.outcome, "finished");
  } finally {
    await served.close();
  }
});

test("writeResponse() sends no body for HEAD and cancels the unread stream", async () => {
  const spy = spyStream(["never sent"]);
  const served = await serve(() => new Response(spy.stream, { headers: { "x-head": "yes" } }));
  try {
    const reply = await send(served.port, { method: "HEAD" });
    assert.equal(reply.headers["x-head"], "yes");
    assert.equal(reply.body, "");
    await within(spy.cancelled, 3_000, "cancel()");
    assert.equal(await served.outcome, "finished");
  } finally {
    await served.close();
  }
});

test("writeResponse() sends 204 without a body and keeps the connection usable", async () => {
  let calls = 0;
  const served = await serve(() =>
    new Response(calls++ === 0 ? null : "second", {
      status: calls === 1 ? 204 : 200,
    })
  );
  try {
    const twice = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\nGET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
    const { data } = await exchange(served.port, twice, (d) => d.endsWith("second"));
    const [first = ""] = data.split("HTTP/1.1 200");
    assert.match(first, /^HTTP\/1\.1 204 /);
    assert.doesNotMatch(first, /content-length|transfer-encoding/i);
  } finally {
    await served.close();
  }
});

test("writeResponse() sends stream chunks as they are produced", async () => {
  const firstArrived = deferred();
  const served = await serve(() => {
    const encoder = new TextEncoder();
    return new Response(
      new ReadableStream({
        async start(controller) {
          controller.enqueue(encoder.encode("first;"));
          await firstArrived.promise; // Deadlocks if the bridge waited for the end.
          controller.enqueue(encoder.encode("second"));
          controller.close();
        },
      }),
    );
  });
  try {
    const reply = await within(
      new Promise<string>((resolve, reject) => {
        httpRequest({ host: "127.0.0.1", port: served.port, agent: false }, (res) => {
          const parts: string[] = [];
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            parts.push(chunk);
            firstArrived.resolve();
          });
          res.on("end", () => resolve(parts.join("|")));
        }).on("error", reject).end();
      }),
      3_000,
      "the streamed response",
    );
    assert.equal(reply, "first;|second");
    assert.equal(await served.outcome, "finished");
  } finally {
    await served.close();
  }
});

test("writeResponse() cancels the body stream and resolves cancelled when the client leaves", async () => {
  const spy = spyStream(["tick"], true);
  const served = await serve(() => new Response(spy.stream));
  try {
    await exchange(
      served.port,
      "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n",
      (d) => d.includes("tick"),
    );
    await within(spy.cancelled, 3_000, "cancel()");
    assert.equal(await within(served.outcome, 3_000, "the outcome"), "cancelled");
  } finally {
    await served.close();
  }
});

test("writeResponse() resolves cancelled when the client left before the response", async () => {
  const spy = spyStream(["late"]);
  const started = deferred();
  const left = deferred();
  const served = await serve(async (_request, incoming) => {
    incoming.socket.once("close", () => left.resolve());
    started.resolve();
    await left.promise;
    return new Response(spy.stream);
  });
  try {
    const socket = connect(served.port, "127.0.0.1", () => {
      socket.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    });
    await within(started.promise, 3_000, "the handler to start");
    socket.destroy();
    assert.equal(await within(served.outcome, 3_000, "the outcome"), "cancelled");
    await within(spy.cancelled, 3_000, "cancel()");
  } finally {
    await served.close();
  }
});

test("writeResponse() destroys the connection when the body errors mid-way", async () => {
  const served = await serve(() =>
    new Response(
      new ReadableStream({
        async pull(controller) {
          controller.enqueue(new TextEncoder().encode("partial"));
          await delay(20);
          controller.error(new Error("boom"));
        },
      }),
    )
  );
  try {
    const { data, closed } = await exchange(served.port, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    assert.ok(closed);
    assert.match(data, /^HTTP\/1\.1 200 /);
    assert.ok(data.includes("partial"));
    assert.ok(!data.endsWith("0\r\n\r\n"), "the chunked body must not end cleanly");
    await assert.rejects(send(served.port)); // Node's client reports the truncation.
    assert.equal(await served.outcome, "errored");
  } finally {
    await served.close();
  }
});

test("writeResponse() answers 500 when the body errors before its first chunk", async () => {
  const served = await serve(() =>
    new Response(new ReadableStream({ pull: (controller) => controller.error(new Error("boom")) }))
  );
  try {
    const reply = await send(served.port);
    assert.equal(reply.status, 500);
    assert.equal(await served.outcome, "errored");
  } finally {
    await served.close();
  }
});

test("writeResponse() waits for the client to drain before reading more of the body", async () => {
  const chunk = new Uint8Array(64 * 1024);
  const total = 512; // 32 MiB: more than the socket buffers hold.
  let pulls = 0;
  const served = await serve(() =>
    new Response(
      new ReadableStream({
        pull(controller) {
          if (pulls++ < total) controller.enqueue(chunk);
          else controller.close();
        },
      }),
    )
  );
  try {
    const socket = connect(served.port, "127.0.0.1", () => {
      socket.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    });
    socket.pause(); // Read nothing: the server's writes must back up.
    await delay(300);
    const pulledWhilePaused = pulls;
    socket.destroy();
    assert.ok(pulledWhilePaused < total / 2, `pulled ${pulledWhilePaused} of ${total} chunks`);
    assert.equal(await within(served.outcome, 3_000, "the outcome"), "cancelled");
  } finally {
    await served.close();
  }
});

test("writeResponse() with keepAlive false sends Connection: close and closes the socket", async () => {
  const served = await serve(
    () => new Response("bye", { headers: { connection: "keep-alive" } }),
    false,
  );
  try {
    const { data, closed } = await within(
      exchange(served.port, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"),
      3_000,
      "the server to close the connection",
    );
    assert.ok(closed);
    assert.match(data, /\r\nconnection: close\r\n/i);
    assert.doesNotMatch(data, /keep-alive/i);
    assert.ok(data.endsWith("\r\n\r\nbye"));
  } finally {
    await served.close();
  }
});

test("writeResponse() leaves a response the handler wrote itself alone", async () => {
  const served = await serve((_request, _incoming, outgoing) => {
    outgoing.writeHead(200, { "x-own": "yes" });
    outgoing.write("own ");
    setTimeout(() => outgoing.end("body"), 20);
    return new Response("ignored");
  });
  try {
    const reply = await send(served.port);
    assert.equal(reply.headers["x-own"], "yes");
    assert.equal(reply.body, "own body");
    assert.equal(await served.outcome, "finished");
  } finally {
    await served.close();
  }
});

test("writePlain() sends a plain response with Content-Length and omits the body for HEAD", async () => {
  const server = createServer((_incoming, outgoing) => {
    writePlain(outgoing, 503, "Shutting down", {
      keepAlive: false,
      headers: { "retry-after": "1" },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const reply = await send(port);
    assert.equal(reply.status, 503);
    assert.equal(reply.body, "Shutting down");
    assert.equal(reply.headers["content-length"], "13");
    assert.equal(reply.headers["retry-after"], "1");
    const head = await within(
      exchange(port, "HEAD / HTTP/1.1\r\nHost: a.test\r\n\r\n"),
      3_000,
      "the server to close the connection",
    );
    assert.ok(head.closed);
    assert.match(head.data, /\r\nconnection: close\r\n/i);
    assert.match(head.data, /\r\ncontent-length: 13\r\n/i);
    assert.ok(head.data.endsWith("\r\n\r\n"), head.data);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
