import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { toRequest } from "../../src/adapters/node/request.ts";

/**
 * lameduck hands the handler a real `Request`, not a lookalike with `Request.prototype`: the
 * Fetch API's own code reads a request's internal state, so a lookalike breaks `new
 * Request(request)` and `fetch(request)` (what @hono/node-server and srvx avoid only by
 * replacing the global `Request`).
 */
test("toRequest() gives a real Request: new Request(request) and clone() keep method, URL, headers and body", async () => {
  let check!: Promise<unknown>;
  const server = createServer((incoming, outgoing) => {
    const request = toRequest(incoming, "http://127.0.0.1");
    check = (async () => {
      const rebuilt = new Request(request.clone());
      const copy = new Request(request, { headers: request.headers });
      return {
        instance: request instanceof Request,
        copy: [copy.method, copy.url, copy.headers.get("x-test"), await copy.text()],
        rebuilt: [rebuilt.method, rebuilt.url, rebuilt.headers.get("x-test"), await rebuilt.text()],
      };
    })();
    void check.finally(() => outgoing.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/p?q",
        agent: false,
        headers: { "x-test": "yes", host: "a.test" },
      }, (res) => res.resume().on("end", resolve));
      req.on("error", reject);
      req.end("body");
    });
    const expected = ["POST", "http://a.test/p?q", "yes", "body"];
    assert.deepEqual(await check, { instance: true, copy: expected, rebuilt: expected });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
